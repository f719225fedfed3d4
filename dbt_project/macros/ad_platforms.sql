{#
    The ad platforms the project reads, and the channel their spend takes when none of a
    campaign's clicks could be found (a campaign with impressions but no click yet).
    Otherwise a campaign's spend takes the channel, source and medium of the sessions and
    contacts matched to it (int_ad_campaigns), so a Meta account tagged facebook / cpc and
    one tagged fb / paid_social both report as paid_social.

    Adding a platform: one entry here, one CTE in int_ad_delivery_unioned (the
    accepted_values tests of platform columns read this list).
#}
{% macro ad_platforms() -%}
    {{ return([
        {"platform": "meta_ads", "default_channel": "paid_social"},
        {"platform": "google_ads", "default_channel": "paid_search"},
    ]) }}
{%- endmacro %}


{# ad_platforms() as rows: platform, default_channel, for a CTE. #}
{% macro ad_platforms_rows() -%}
    {%- for p in ad_platforms() %}
    select '{{ p.platform }}' as platform, '{{ p.default_channel }}' as default_channel
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}


{#
    The campaign-match rule, var('ad_campaign_match'): what a session's or contact's
    utm_campaign is compared with, case-insensitively and trimmed, to find the ad campaign
    that bought it:
      name        the platform's campaign name (every name it had in the loaded delivery),
      id          the platform's campaign id (utm_campaign={{campaign.id}} on Meta, {campaignid} on Google),
      name_or_id  either (the default).
    Google Ads clicks that carry no UTM (auto-tagging, gclid) need no rule: GA4 names their
    campaign id (sessionGoogleAdsCampaignId) and Google Ads' click_view names the campaign of
    a contact's gclid.
#}
{% macro ad_campaign_match_kinds() -%}
    {%- set rule = var('ad_campaign_match', 'name_or_id') -%}
    {%- set kinds = {'name': ['name'], 'id': ['id'], 'name_or_id': ['name', 'id']} -%}
    {%- if rule not in kinds -%}
        {{ exceptions.raise_compiler_error(
            "var ad_campaign_match is '" ~ rule ~ "': set it to name, id or name_or_id (dbt_project.yml)") }}
    {%- endif -%}
    {{ return(kinds[rule]) }}
{%- endmacro %}


{#
    The ad campaign each outcome was bought by: one row per row of `outcomes` (a CTE with
    the columns `id_columns`, campaign, channel and google_ads_campaign_id), with
    ad_platform, ad_account_id, ad_campaign_id and ad_campaign_name (NULL when none).

    - A Google Ads campaign id the click itself names (GA4's sessionGoogleAdsCampaignId, a
      contact's gclid through click_view) wins.
    - Else utm_campaign is matched to int_ad_campaign_keys by the rule above, for outcomes
      of a paid channel only (seeds/channels.csv is_paid): a newsletter that shares a
      campaign's name is not what the campaign bought.
    - Of several campaigns with that key, the one whose platform's default channel is the
      outcome's channel, then the lowest (platform, account, campaign id).
#}
{% macro ad_campaign_matches(outcomes, id_columns) -%}
    select {% for c in id_columns %}{{ c }}, {% endfor %}ad_platform, ad_account_id, ad_campaign_id, ad_campaign_name
    from (
    select
        {% for c in id_columns %}outcomes.{{ c }}, {% endfor %}
        keys.platform as ad_platform,
        keys.ad_account_id,
        keys.campaign_id as ad_campaign_id,
        keys.campaign_name as ad_campaign_name,
        row_number() over (
            partition by {% for c in id_columns %}outcomes.{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
            order by platforms.default_channel = outcomes.channel desc, keys.platform, keys.ad_account_id, keys.campaign_id
        ) as match_rank
    from (
        select *, channel in (select channel from {{ ref('channels') }} where is_paid) as is_paid_channel
        from {{ outcomes }}
    ) as outcomes
    inner join {{ ref('int_ad_campaign_keys') }} as keys
        on (
            outcomes.google_ads_campaign_id is not null
            and keys.platform = 'google_ads'
            and keys.key_kind = 'id'
            and keys.match_key = outcomes.google_ads_campaign_id
        )
        or (
            outcomes.google_ads_campaign_id is null
            and keys.key_kind in ('{{ ad_campaign_match_kinds() | join("', '") }}')
            and keys.match_key = lower(trim(outcomes.campaign))
            and outcomes.is_paid_channel
        )
    left join ({{ ad_platforms_rows() }}) as platforms
        on keys.platform = platforms.platform
    ) as ranked
    where match_rank = 1
{%- endmacro %}
