{#
    The ad platforms the project reads, and the UTM source/medium their ads put on the
    links they send people to. The platform's spend is reported under that pair
    (int_ad_spend_attributed, so it lands on the same channel_performance_daily rows as
    the sessions and contacts those ads bring in), its conversions are reconciled against
    the CRM contacts whose first touch carries it (conversion_reconciliation), and its
    delivery takes that pair's channel (ad_performance_daily).

    Adding a platform: one entry here, one CTE in int_ad_delivery_unioned.
#}
{% macro ad_platforms() -%}
    {{ return([
        {"platform": "meta_ads", "utm_source": var("meta_ads_utm_source"), "utm_medium": var("meta_ads_utm_medium")},
        {"platform": "google_ads", "utm_source": var("google_ads_utm_source"), "utm_medium": var("google_ads_utm_medium")},
    ]) }}
{%- endmacro %}


{# ad_platforms() as rows: platform, utm_source, utm_medium (lower case), for a CTE. #}
{% macro ad_platforms_rows() -%}
    {%- for p in ad_platforms() %}
    select
        '{{ p.platform }}' as platform,
        lower('{{ p.utm_source }}') as utm_source,
        lower('{{ p.utm_medium }}') as utm_medium
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
