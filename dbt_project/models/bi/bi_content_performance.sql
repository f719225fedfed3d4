-- bi.content_performance: the columns dashboards read from marts.content_performance, by name, money as DECIMAL(38, 6).
-- Add columns freely; removing or retyping one breaks dashboards (tests/e2e/test_bi_schema.py).
{{ config(alias='content_performance') }}

select
    property_id,
    page_path,
    week_start_date,
    days_with_data,
    is_complete_week,
    page_views,
    unique_page_views,
    entrances,
    exits,
    exit_rate,
    bounce_rate,
    avg_time_on_page_s,
    previous_week_page_views,
    page_views_wow_change,
    page_views_rank,
    is_top_page,
    trend_page_views,
    previous_trend_page_views,
    page_views_trend_change,
    is_falling,
    is_rising
from {{ ref('content_performance') }}
