{#
    The only place a marketing channel is derived. The channels are GA4's default channel
    groups, snake_case, listed once in seeds/channels.csv (in GA4's order of evaluation):
    direct, cross_network, paid_shopping, paid_search, paid_social, paid_video, display,
    paid_other, organic_shopping, organic_social, organic_video, organic_search, referral,
    email, affiliates, audio, sms, mobile_push_notifications, and other (GA4's Unassigned).

    channel_from_utm(source, medium, campaign): the channel of a UTM source / medium (and
    campaign name, which two of GA4's rules read), for contacts' UTM tags, GA4's
    sessionSource / sessionMedium and HubSpot page visits alike:
      1. the user's row for the pair in seeds/utm_channel_mapping.csv, case-insensitively;
         a row with utm_source '*' matches any source, and a row naming the source wins;
      2. else GA4's default channel group rules (ga4_default_channel_group below).
#}
{% macro channel_from_utm(utm_source, utm_medium, utm_campaign="cast(null as varchar)") -%}
    (
        select coalesce(
            (
                select mapping.channel
                from {{ ref('utm_channel_mapping') }} as mapping
                where lower(mapping.utm_medium) = tagged.tag_medium
                    and (mapping.utm_source = '*' or lower(mapping.utm_source) = tagged.tag_source)
                -- false sorts first: an exact source match beats the '*' row
                order by mapping.utm_source = '*'
                limit 1
            ),
            {{ ga4_default_channel_group('tagged.tag_source', 'tagged.tag_medium', 'tagged.tag_campaign', 'categories.category') }}
        )
        -- no FROM here: the arguments are the caller's columns
        from (
            select
                lower({{ utm_source }}) as tag_source,
                lower({{ utm_medium }}) as tag_medium,
                lower({{ utm_campaign }}) as tag_campaign
        ) as tagged
        left join {{ ref('ga4_source_categories') }} as categories
            on lower(categories.source) = tagged.tag_source
        limit 1
    )
{%- endmacro %}


{#
    GA4's default channel group, rule by rule in GA4's order (the first that matches wins),
    from Google's "[GA4] Default channel group" (support.google.com/analytics/answer/9756891),
    the rules for manually tagged traffic. Arguments are lower-case SQL expressions;
    source_category is the source's category in seeds/ga4_source_categories.csv (search,
    social, video, shopping; Google's published list of sources) or NULL. GA4 does not
    enforce case, so neither does this.
#}
{% macro ga4_default_channel_group(source, medium, campaign, source_category) -%}
    {%- set paid_medium = regex_full_match(medium, "'(.*cp.*|ppc|retargeting|paid.*)'") -%}
    {%- set shopping_campaign = regex_full_match("coalesce(" ~ campaign ~ ", '')", "'(.*(([^a-df-z]|^)shop|shopping).*)'") -%}
    case
        when {{ source }} = '(direct)' and {{ medium }} in ('(not set)', '(none)') then 'direct'
        when {{ text_contains("coalesce(" ~ campaign ~ ", '')", "'cross-network'") }} then 'cross_network'
        when ({{ source_category }} = 'shopping' or {{ shopping_campaign }}) and {{ paid_medium }} then 'paid_shopping'
        when {{ source_category }} = 'search' and {{ paid_medium }} then 'paid_search'
        when {{ source_category }} = 'social' and {{ paid_medium }} then 'paid_social'
        when {{ source_category }} = 'video' and {{ paid_medium }} then 'paid_video'
        when {{ medium }} in ('display', 'banner', 'expandable', 'interstitial', 'cpm') then 'display'
        when {{ paid_medium }} then 'paid_other'
        when {{ source_category }} = 'shopping' or {{ shopping_campaign }} then 'organic_shopping'
        when {{ source_category }} = 'social'
            or {{ medium }} in ('social', 'social-network', 'social-media', 'sm', 'social network', 'social media')
            then 'organic_social'
        when {{ source_category }} = 'video' or {{ regex_full_match(medium, "'.*video.*'") }} then 'organic_video'
        when {{ source_category }} = 'search' or {{ medium }} = 'organic' then 'organic_search'
        when {{ medium }} in ('referral', 'app', 'link') then 'referral'
        when {{ source }} in ('email', 'e-mail', 'e_mail', 'e mail') or {{ medium }} in ('email', 'e-mail', 'e_mail', 'e mail')
            then 'email'
        when {{ medium }} = 'affiliate' then 'affiliates'
        when {{ medium }} = 'audio' then 'audio'
        when {{ source }} = 'sms' or {{ medium }} = 'sms' then 'sms'
        when {{ text_ends_with(medium, "'push'") }} or {{ text_contains(medium, "'mobile'") }} or {{ text_contains(medium, "'notification'") }}
            or {{ source }} = 'firebase'
            then 'mobile_push_notifications'
        else 'other'
    end
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
