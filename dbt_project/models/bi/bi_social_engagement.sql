-- bi.social_engagement: the columns dashboards read from marts.social_engagement, by name, money as DECIMAL(38, 6).
-- Add columns freely; removing or retyping one breaks dashboards (tests/e2e/test_bi_schema.py).
{{ config(alias='social_engagement') }}

select
    channel,
    date_day,
    posts_published,
    impressions,
    reach,
    likes,
    comments,
    shares,
    saves,
    engagements,
    followers,
    engagement_rate,
    net_follower_change
from {{ ref('social_engagement') }}
