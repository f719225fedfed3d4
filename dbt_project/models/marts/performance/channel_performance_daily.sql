{{ config(**replace_days_config(
    day_inputs=[
        {'ref': 'stg_meta_ads__insights', 'loaded_from': 'meta_ads.insights'},
        {'ref': 'stg_google_ads__ad_group_performance', 'loaded_from': 'google_ads.ad_group_performance'},
        {'ref': 'stg_ga4__sessions_daily', 'loaded_from': 'ga4.sessions_daily'},
    ],
    compared_inputs=['int_crm_outcomes_aggregated', 'stg_fx__rates_daily'],
    fingerprint_inputs=[{'ref': 'int_ad_campaigns', 'columns': [
        'platform', 'ad_account_id', 'campaign_id', 'campaign_name', 'channel', 'source', 'medium']}],
    vars=['reporting_currency', 'fx_rates_source', 'fx_rate_max_age_days'],
)) }}
-- depends_on: {{ ref('stg_meta_ads__insights') }}
-- depends_on: {{ ref('stg_google_ads__ad_group_performance') }}
-- depends_on: {{ ref('stg_ga4__sessions_daily') }}
-- depends_on: {{ ref('stg_fx__rates_daily') }}
-- depends_on: {{ ref('int_ad_campaigns') }}
-- One row per day, channel, source, medium and campaign: ad delivery (every ad platform),
-- website sessions (GA4), lifecycle stages reached and won revenue (CRM). The four sides
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
        cast(0 as {{ money_type() }}) as revenue
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
        cast(0 as {{ money_type() }}) as revenue
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
        revenue
    from crm_outcomes

),

all_sides as (

    select * from daily_ad_spend
    union all
    select * from daily_sessions
    union all
    select * from daily_crm_outcomes

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
        cast(sum(revenue) as {{ money_type() }}) as revenue
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
        {{ safe_divide('revenue - spend', 'spend') }} as roi
    from daily_totals

)

select * from final
