-- One row per property, day, session source / medium / campaign and landing page (GA4
-- runReport, session scope). GA4 sends every value as a string; date is the property's
-- day (its reporting time zone).
with

source as (

    select * from {{ source_or_empty('ga4', 'sessions_daily', {
        'date': 'date', 'sessionSource': 'varchar', 'sessionMedium': 'varchar',
        'sessionCampaignName': 'varchar', 'landingPage': 'varchar'}) }}

),

renamed as (

    select
        _account_id as property_id,
        date as date_day,
        -- as GA4 sent them; int_sessions_attributed lower-cases them and maps them to channels
        {{ adapter.quote('sessionSource') }} as source,
        {{ adapter.quote('sessionMedium') }} as medium,
        {{ adapter.quote('sessionCampaignName') }} as campaign,
        {{ adapter.quote('landingPage') }} as landing_page,
        -- auto-tagged Google Ads clicks (gclid): the campaign GA4 read from Google Ads; '(not set)' otherwise
        nullif(nullif({{ json_text('_record', 'sessionGoogleAdsCampaignId') }}, ''), '(not set)') as google_ads_campaign_id,
        nullif(nullif({{ json_text('_record', 'sessionGoogleAdsCampaignName') }}, ''), '(not set)') as google_ads_campaign_name,

        cast({{ json_text('_record', 'sessions') }} as bigint) as sessions,
        cast({{ json_text('_record', 'engagedSessions') }} as bigint) as engaged_sessions,
        cast({{ json_text('_record', 'bounceRate') }} as {{ type_double() }}) as bounce_rate,
        cast({{ json_text('_record', 'averageSessionDuration') }} as {{ type_double() }}) as avg_session_duration_s,
        cast({{ json_text('_record', 'screenPageViews') }} as bigint) as page_views,
        -- key events (GA4's keyEvents, called conversions until 2024: rows loaded before carry that name)
        cast(coalesce({{ json_text('_record', 'keyEvents') }}, {{ json_text('_record', 'conversions') }}) as {{ type_double() }})
            as key_events,

        -- every field GA4 sent, including metrics added to the report later
        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

),

with_totals as (

    select
        *,
        -- the row's total session time, so that durations add up across rows: a DECIMAL
        -- (microseconds), so sums of it do not depend on the order rows are added in
        cast(avg_session_duration_s as decimal(38, 6)) * sessions as session_duration_s
    from renamed

)

select * from with_totals
