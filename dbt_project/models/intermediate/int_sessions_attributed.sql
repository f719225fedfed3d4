{{ config(**replace_days_config(
    day_inputs=[{'ref': 'stg_ga4__sessions_daily', 'loaded_from': 'ga4.sessions_daily'}],
    fingerprint_inputs=[{'ref': 'utm_channel_mapping'}],
)) }}
-- GA4 sessions per property, day, channel, source, medium and campaign. Source and medium
-- are lower-cased and mapped to a channel by the same UTM mapping as contacts and ad
-- spend (GA4 reports organic search as google / organic, direct traffic as
-- (direct) / (none), a referring site as <site> / referral); GA4's no-campaign
-- placeholders become '(none)', as a missing utm_campaign is everywhere else.
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
            when nullif(campaign, '') is null
                or campaign in ('(organic)', '(direct)', '(referral)', '(not set)', '(none)')
                then '(none)'
            else campaign
        end as campaign,
        sessions,
        engaged_sessions,
        session_duration_s,
        page_views,
        -- GA4's key events; the column keeps its name, so the incremental table needs no full refresh
        key_events as conversions
    from sessions

),

source_medium_channels as (

    select
        source,
        medium,
        {{ channel_from_utm('source', 'medium') }} as channel
    from (select distinct source, medium from normalised) as pairs

),

daily_sessions as (

    select
        normalised.property_id,
        normalised.date_day,
        source_medium_channels.channel,
        normalised.source,
        normalised.medium,
        normalised.campaign,
        cast(coalesce(sum(normalised.sessions), 0) as bigint) as sessions,
        cast(coalesce(sum(normalised.engaged_sessions), 0) as bigint) as engaged_sessions,
        -- DECIMAL sums: the same total whatever order the rows are added in
        cast(coalesce(sum(normalised.session_duration_s), 0) as decimal(38, 6)) as session_duration_s,
        cast(coalesce(sum(normalised.page_views), 0) as bigint) as page_views,
        coalesce({{ sum_exactly('normalised.conversions') }}, 0) as conversions
    from normalised
    inner join source_medium_channels
        on normalised.source = source_medium_channels.source
        and normalised.medium = source_medium_channels.medium
    group by
        normalised.property_id,
        normalised.date_day,
        source_medium_channels.channel,
        normalised.source,
        normalised.medium,
        normalised.campaign

)

select * from daily_sessions
