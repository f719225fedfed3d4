{#
    The only place a marketing channel is derived. Channels:
    paid_search, paid_social, organic_search, organic_social, email, referral, direct, other.

    channel_from_utm: look the (source, medium) pair up in seeds/utm_channel_mapping.csv,
    case-insensitively. A row with utm_source '*' matches any source (a missing one too);
    a row naming the source exactly wins over '*'. No match -> 'other'.
#}
{% macro channel_from_utm(utm_source, utm_medium) -%}
    coalesce(
        (
            select mapping.mapped_channel
            from (
                select
                    lower(utm_source) as mapped_source,
                    lower(utm_medium) as mapped_medium,
                    channel as mapped_channel
                from {{ ref('utm_channel_mapping') }}
            ) as mapping
            where mapping.mapped_medium = lower({{ utm_medium }})
                and (mapping.mapped_source = '*' or mapping.mapped_source = lower({{ utm_source }}))
            -- false sorts first: an exact source match beats the '*' row
            order by mapping.mapped_source = '*'
            limit 1
        ),
        'other'
    )
{%- endmacro %}


{#
    channel_from_hubspot_source: for contacts without UTM tags, map HubSpot's original
    source (hs_analytics_source, e.g. PAID_SOCIAL) through
    seeds/hubspot_source_channel_mapping.csv, case-insensitively. No match -> 'other'.
#}
{% macro channel_from_hubspot_source(analytics_source) -%}
    coalesce(
        (
            select mapping.mapped_channel
            from (
                select
                    upper(hs_analytics_source) as mapped_source,
                    channel as mapped_channel
                from {{ ref('hubspot_source_channel_mapping') }}
            ) as mapping
            where mapping.mapped_source = upper({{ analytics_source }})
            limit 1
        ),
        'other'
    )
{%- endmacro %}
