-- bi.channel_performance_daily: the columns dashboards read from marts.channel_performance_daily, by name, money as DECIMAL(38, 6).
-- Add columns freely; removing or retyping one breaks dashboards (tests/e2e/test_bi_schema.py).
{{ config(alias='channel_performance_daily') }}

select
    date_day,
    channel,
    source,
    medium,
    campaign,
    cast(spend as decimal(38, 6)) as spend,
    impressions,
    clicks,
    leads,
    mqls,
    sqls,
    customers,
    cast(revenue as decimal(38, 6)) as revenue,
    cast(cost_per_lead as decimal(38, 6)) as cost_per_lead,
    cast(cac as decimal(38, 6)) as cac,
    roas,
    ctr,
    cast(cpc as decimal(38, 6)) as cpc,
    cast(cpm as decimal(38, 6)) as cpm,
    sessions,
    engaged_sessions,
    bounce_rate,
    avg_session_duration_s,
    page_views,
    session_to_lead_rate,
    roi
from {{ ref('channel_performance_daily') }}
