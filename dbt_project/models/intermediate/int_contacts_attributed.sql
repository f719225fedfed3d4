-- One row per live (not archived) contact with its first-touch attribution: the UTM tags
-- when it has any (their channel by macros/channels.sql: the user's mapping, else GA4's
-- default channel group), else the Google Ads click of its gclid (auto-tagging: google /
-- cpc, as GA4 reports those clicks), else HubSpot's original source. A contact bought by an
-- ad campaign (macros/ad_platforms.sql) carries the platform's campaign name and ids.
with

contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}
    where not is_archived

),

clicks as (

    select * from {{ ref('stg_google_ads__click_views') }}

),

touch_points as (

    select
        contacts.*,
        contacts.utm_source is not null or contacts.utm_medium is not null as has_utm,
        clicks.campaign_id as google_ads_campaign_id,
        clicks.ad_group_id as google_ads_ad_group_id
    from contacts
    left join clicks
        on contacts.google_click_id = clicks.gclid

),

first_touches as (

    select
        contact_id,

        case
            when has_utm then {{ channel_from_utm('utm_source', 'utm_medium', 'utm_campaign') }}
            when google_ads_campaign_id is not null then {{ channel_from_utm("'google'", "'cpc'") }}
            else {{ channel_from_hubspot_source('analytics_source') }}
        end as channel,
        case
            when has_utm then coalesce(lower(utm_source), '(none)')
            when google_ads_campaign_id is not null then 'google'
            else coalesce(lower(analytics_source), '(none)')
        end as source,
        case
            when has_utm then coalesce(lower(utm_medium), '(none)')
            when google_ads_campaign_id is not null then 'cpc'
            else '(none)'
        end as medium,
        case when has_utm then coalesce(utm_campaign, '(none)') else '(none)' end as campaign,
        -- ad clicks put the ad id here (Google Ads: the ad group id), which ties a contact to one ad account
        case
            when has_utm then coalesce(utm_content, '(none)')
            else coalesce(google_ads_ad_group_id, '(none)')
        end as content,
        has_utm,
        google_ads_campaign_id,

        lifecycle_stage,
        created_at,
        {%- for stage in hubspot_lifecycle_stages() %}
            became_{{ stage.name }}_at,
        {%- endfor %}
        updated_at,
        properties_json

    from touch_points

),

campaign_matches as (

    {{ ad_campaign_matches('first_touches', ['contact_id']) }}

),

attributed as (

    select
        first_touches.contact_id,
        first_touches.channel,
        first_touches.source,
        first_touches.medium,
        coalesce(campaign_matches.ad_campaign_name, first_touches.campaign) as campaign,
        first_touches.content,
        first_touches.has_utm,
        campaign_matches.ad_platform,
        campaign_matches.ad_account_id,
        campaign_matches.ad_campaign_id,

        first_touches.lifecycle_stage,
        first_touches.created_at,
        {%- for stage in hubspot_lifecycle_stages() %}
            first_touches.became_{{ stage.name }}_at,
        {%- endfor %}
        first_touches.updated_at,
        first_touches.properties_json
    from first_touches
    left join campaign_matches
        on first_touches.contact_id = campaign_matches.contact_id

)

select * from attributed
