-- bi.video_performance: the columns dashboards read from marts.video_performance, by name.
-- Add columns freely; removing or retyping one breaks dashboards (tests/test_bi_schema.py).
{{ config(alias='video_performance') }}

select
    channel_id,
    video_id,
    title,
    published_at,
    date_day,
    views,
    minutes_watched,
    avg_view_duration_s,
    likes,
    comments,
    shares,
    subscribers_gained,
    subscribers_lost,
    sessions,
    engaged_sessions,
    leads,
    customers,
    sessions_per_view,
    has_analytics
from {{ ref('video_performance') }}
