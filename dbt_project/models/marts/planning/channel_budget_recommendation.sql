-- Per channel and month: what was spent and returned, and the share of the month's paid
-- budget the rule in macros/budget.sql would give each channel (documented in
-- channel_budget_recommendation.yml).
with

daily as (

    select * from {{ ref('channel_performance_daily') }}

),

budget_lines as (

    select
        cast(date_trunc('month', date_day) as date) as budget_month,
        channel,
        sum(spend) as spend,
        sum(revenue) as revenue,
        sum(customers) as customers
    from daily
    group by cast(date_trunc('month', date_day) as date), channel

),

{{ budget_recommendation_ctes(['channel']) }}
