{{ config(**replace_days_config(
    day_inputs=[{'ref': 'stg_ga4__sessions_daily', 'loaded_from': 'ga4.sessions_daily'}],
    fingerprint_inputs=[{'ref': 'utm_channel_mapping'}, {'ref': 'ga4_source_categories'}, {'ref': 'channels'},
                        {'ref': 'int_ad_campaign_keys'}],
    vars=['ad_campaign_match'],
)) }}
-- GA4 sessions per property, day, channel, source, medium and campaign, and the ad campaign
-- that bought them. Source and medium are lower-cased and take their channel by the same
-- rules as contacts and page visits (macros/channels.sql: the user's mapping, else GA4's
-- default channel group); GA4's no-campaign placeholders become '(none)', as a missing
-- utm_campaign is everywhere else. A session of an ad campaign (macros/ad_platforms.sql:
-- GA4's Google Ads campaign id for auto-tagged clicks, else utm_campaign by the match
-- rule) carries the platform's campaign name, so it shares a row with that campaign's spend.
with

sessions as (

    select * from {{ ref('stg_ga4__sessions_daily') }}
    {{ replace_days_filter() }}

),

normalised as (

    select
        property_id,
        date_day,
        coalesce(lower(nullif(source, '')), '(none)') as source,
        coalesce(lower(nullif(medium, '')), '(none)') as medium,
        case
            when
                nullif(campaign, '') is null
                or campaign in ('(organic)', '(direct)', '(referral)', '(not set)', '(none)')
                then '(none)'
            else campaign
        end as campaign,
        google_ads_campaign_id,
        sessions,
        engaged_sessions,
        session_duration_s,
        page_views,
        -- GA4's key events; the column keeps its name, so the incremental table needs no full refresh
        key_events as conversions
    from sessions

),

tag_channels as (

    select
        source,
        medium,
        campaign,
        google_ads_campaign_id,
        {{ channel_from_utm('source', 'medium', 'campaign') }} as channel
    from (select distinct
        source,
        medium,
        campaign,
        google_ads_campaign_id
    from normalised) as tags

),

tag_campaigns as (

    {{ ad_campaign_matches('tag_channels', ['source', 'medium', 'campaign', 'google_ads_campaign_id']) }}

),

tags as (

    select
        tag_channels.*,
        tag_campaigns.ad_platform,
        tag_campaigns.ad_account_id,
        tag_campaigns.ad_campaign_id,
        coalesce(tag_campaigns.ad_campaign_name, tag_channels.campaign) as attributed_campaign
    from tag_channels
    left join tag_campaigns
        on
            tag_channels.source = tag_campaigns.source
            and tag_channels.medium = tag_campaigns.medium
            and tag_channels.campaign = tag_campaigns.campaign
            and tag_channels.google_ads_campaign_id is not distinct from tag_campaigns.google_ads_campaign_id

),

daily_sessions as (

    select
        normalised.property_id,
        normalised.date_day,
        tags.channel,
        normalised.source,
        normalised.medium,
        tags.attributed_campaign as campaign,
        tags.ad_platform,
        tags.ad_account_id,
        tags.ad_campaign_id,
        cast(coalesce(sum(normalised.sessions), 0) as bigint) as sessions,
        cast(coalesce(sum(normalised.engaged_sessions), 0) as bigint) as engaged_sessions,
        -- DECIMAL sums: the same total whatever order the rows are added in
        cast(coalesce(sum(normalised.session_duration_s), 0) as decimal(38, 6)) as session_duration_s,
        cast(coalesce(sum(normalised.page_views), 0) as bigint) as page_views,
        coalesce({{ sum_exactly('normalised.conversions') }}, 0) as conversions
    from normalised
    inner join tags
        on
            normalised.source = tags.source
            and normalised.medium = tags.medium
            and normalised.campaign = tags.campaign
            and normalised.google_ads_campaign_id is not distinct from tags.google_ads_campaign_id
    group by
        normalised.property_id,
        normalised.date_day,
        tags.channel,
        normalised.source,
        normalised.medium,
        tags.attributed_campaign,
        tags.ad_platform,
        tags.ad_account_id,
        tags.ad_campaign_id

)

select * from daily_sessions
