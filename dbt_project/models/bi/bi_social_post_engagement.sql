-- bi.social_post_engagement: the columns dashboards read from marts.social_post_engagement, by name, money as DECIMAL(38, 6).
-- Add columns freely; removing or retyping one breaks dashboards (tests/e2e/test_bi_schema.py).
{{ config(alias='social_post_engagement') }}

select
    post_id,
    platform,
    account_id,
    post_type,
    permalink,
    text,
    published_at,
    published_date,
    views,
    reach,
    likes,
    comments,
    shares,
    saves,
    engagements,
    engagement_rate,
    comments_extracted,
    sessions,
    leads,
    customers,
    cast(won_revenue as decimal(38, 6)) as won_revenue,
    session_to_lead_rate
from {{ ref('social_post_engagement') }}
