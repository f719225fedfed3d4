{{ config(**replace_days_config(
    day_inputs=[
        {'ref': 'stg_meta_ads__insights', 'loaded_from': 'meta_ads.insights'},
        {'ref': 'stg_google_ads__ad_group_performance', 'loaded_from': 'google_ads.ad_group_performance'},
        {'ref': 'stg_ga4__sessions_daily', 'loaded_from': 'ga4.sessions_daily'},
        {'ref': 'stg_search_console__site_daily', 'loaded_from': 'search_console.search_analytics_by_date'},
        {'ref': 'stg_youtube__video_daily', 'loaded_from': 'youtube.video_daily'},
    ],
    compared_inputs=['int_crm_outcomes_aggregated', 'stg_fx__rates_daily'],
    fingerprint_inputs=[{'ref': 'int_ad_campaigns', 'columns': [
        'platform', 'ad_account_id', 'campaign_id', 'campaign_name', 'channel', 'source', 'medium']},
        {'ref': 'stg_youtube__videos', 'columns': ['video_id', 'utm_campaign']}],
    vars=['reporting_currency', 'fx_rates_source', 'fx_rate_max_age_days'],
)) }}
-- depends_on: {{ ref('stg_meta_ads__insights') }}
-- depends_on: {{ ref('stg_google_ads__ad_group_performance') }}
-- depends_on: {{ ref('stg_ga4__sessions_daily') }}
-- depends_on: {{ ref('stg_fx__rates_daily') }}
-- depends_on: {{ ref('int_ad_campaigns') }}
-- depends_on: {{ ref('stg_search_console__site_daily') }}
-- depends_on: {{ ref('stg_youtube__video_daily') }}
-- depends_on: {{ ref('stg_youtube__videos') }}
-- One row per day, channel, source, medium and campaign: ad delivery (every ad platform),
-- website sessions (GA4), lifecycle stages reached and won revenue (CRM), organic reach
-- (Search Console clicks and impressions, YouTube views). The sides
-- are stacked and summed (a full outer union), so a day with spend and no leads, a day
-- with sessions and no spend and a day with leads and nothing else all appear.
with

ad_spend as (

    select * from {{ ref('int_ad_spend_attributed') }}
    {{ replace_days_filter() }}

),

sessions as (

    select * from {{ ref('int_sessions_attributed') }}
    {{ replace_days_filter() }}

),

crm_outcomes as (

    select * from {{ ref('int_crm_outcomes_aggregated') }}
    {{ replace_days_filter() }}

),

daily_ad_spend as (

    select
        date_day,
        channel,
        source,
        medium,
        campaign,
        spend,
        impressions,
        clicks,
        0 as sessions,
        0 as engaged_sessions,
        cast(0 as decimal(38, 6)) as session_duration_s,
        0 as page_views,
        0 as leads,
        0 as mqls,
        0 as sqls,
        0 as customers,
        cast(0 as {{ money_type() }}) as revenue,
        0 as search_clicks,
        0 as search_impressions,
        0 as video_views
    from ad_spend

),

daily_sessions as (

    select
        date_day,
        channel,
        source,
        medium,
        campaign,
        cast(0 as {{ money_type() }}) as spend,
        0 as impressions,
        0 as clicks,
        sessions,
        engaged_sessions,
        session_duration_s,
        page_views,
        0 as leads,
        0 as mqls,
        0 as sqls,
        0 as customers,
        cast(0 as {{ money_type() }}) as revenue,
        0 as search_clicks,
        0 as search_impressions,
        0 as video_views
    from sessions

),

daily_crm_outcomes as (

    select
        date_day,
        channel,
        source,
        medium,
        campaign,
        cast(0 as {{ money_type() }}) as spend,
        0 as impressions,
        0 as clicks,
        0 as sessions,
        0 as engaged_sessions,
        cast(0 as decimal(38, 6)) as session_duration_s,
        0 as page_views,
        leads,
        mqls,
        sqls,
        customers,
        revenue,
        0 as search_clicks,
        0 as search_impressions,
        0 as video_views
    from crm_outcomes

),

-- Search Console's whole-site clicks (anonymised queries included) are Google organic search,
-- google / organic as GA4 names those sessions; YouTube views go to youtube / video under the
-- campaign of the video's tagged link (its utm_campaign, else its id), as its sessions do.
search_days as (

    select date_day, cast(sum(clicks) as bigint) as clicks, cast(sum(impressions) as bigint) as impressions
    from {{ ref('stg_search_console__site_daily') }}
    {{ replace_days_filter() }}
    group by date_day

),

video_days as (

    select
        video_days.date_day,
        coalesce(videos.utm_campaign, video_days.video_id) as campaign,
        cast(sum(video_days.views) as bigint) as views
    from {{ ref('stg_youtube__video_daily') }} as video_days
    left join {{ ref('stg_youtube__videos') }} as videos
        on videos.channel_id = video_days.channel_id and videos.video_id = video_days.video_id
    {{ replace_days_filter('video_days.date_day') }}
    group by video_days.date_day, coalesce(videos.utm_campaign, video_days.video_id)

),

organic_reach as (

    select date_day, 'google' as source, 'organic' as medium, '(none)' as campaign, clicks, impressions, 0 as views
    from search_days
    union all
    select date_day, 'youtube' as source, 'video' as medium, campaign, 0 as clicks, 0 as impressions, views
    from video_days

),

daily_organic_reach as (

    select
        date_day,
        {{ channel_from_utm('source', 'medium', 'campaign') }} as channel,
        source,
        medium,
        campaign,
        cast(0 as {{ money_type() }}) as spend,
        0 as impressions,
        0 as clicks,
        0 as sessions,
        0 as engaged_sessions,
        cast(0 as decimal(38, 6)) as session_duration_s,
        0 as page_views,
        0 as leads,
        0 as mqls,
        0 as sqls,
        0 as customers,
        cast(0 as {{ money_type() }}) as revenue,
        clicks as search_clicks,
        impressions as search_impressions,
        views as video_views
    from organic_reach

),

all_sides as (

    select * from daily_ad_spend
    union all
    select * from daily_sessions
    union all
    select * from daily_crm_outcomes
    union all
    select * from daily_organic_reach

),

daily_totals as (

    select
        date_day,
        channel,
        source,
        medium,
        campaign,
        -- DECIMAL sums: exact, and the same bytes whatever order the rows are added in
        cast(sum(spend) as {{ money_type() }}) as spend,
        cast(sum(impressions) as bigint) as impressions,
        cast(sum(clicks) as bigint) as clicks,
        cast(sum(sessions) as bigint) as sessions,
        cast(sum(engaged_sessions) as bigint) as engaged_sessions,
        cast(sum(session_duration_s) as decimal(38, 6)) as session_duration_s,
        cast(sum(page_views) as bigint) as page_views,
        cast(sum(leads) as bigint) as leads,
        cast(sum(mqls) as bigint) as mqls,
        cast(sum(sqls) as bigint) as sqls,
        cast(sum(customers) as bigint) as customers,
        cast(sum(revenue) as {{ money_type() }}) as revenue,
        cast(sum(search_clicks) as bigint) as search_clicks,
        cast(sum(search_impressions) as bigint) as search_impressions,
        cast(sum(video_views) as bigint) as video_views
    from all_sides
    group by date_day, channel, source, medium, campaign

),

final as (

    select
        date_day,
        channel,
        source,
        medium,
        campaign,
        spend,
        impressions,
        clicks,
        leads,
        mqls,
        sqls,
        customers,
        revenue,
        -- per-unit money: DECIMAL(38, 4), exact quotients rounded half away from zero;
        -- ratios: DOUBLE, one division of exact sums
        {{ divide_money('spend', 'leads') }} as cost_per_lead,
        {{ divide_money('spend', 'customers') }} as cac,
        {{ safe_divide('revenue', 'spend') }} as roas,
        -- added with Google Ads and GA4: new columns go last
        {{ safe_divide('clicks', 'impressions') }} as ctr,
        {{ divide_money('spend', 'clicks') }} as cpc,
        {{ divide_money('spend * 1000', 'impressions') }} as cpm,
        sessions,
        engaged_sessions,
        -- GA4's definitions: a bounce is a session that was not engaged
        1 - {{ safe_divide('engaged_sessions', 'sessions') }} as bounce_rate,
        {{ safe_divide('session_duration_s', 'sessions') }} as avg_session_duration_s,
        page_views,
        {{ safe_divide('leads', 'sessions') }} as session_to_lead_rate,
        {{ safe_divide('revenue - spend', 'spend') }} as roi,
        -- added with Search Console and YouTube: organic reach
        search_clicks,
        search_impressions,
        {{ safe_divide('search_clicks', 'search_impressions') }} as search_ctr,
        video_views
    from daily_totals

)

select * from final
