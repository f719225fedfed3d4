-- Per channel, campaign and month: the budget rule of channel_budget_recommendation
-- (macros/budget.sql) one level down, where ad budgets are actually set. Campaigns are
-- matched by name: the ad platform's campaign name is what its ads send as utm_campaign.
with

daily as (

    select * from {{ ref('channel_performance_daily') }}

),

budget_lines as (

    select
        cast(date_trunc('month', date_day) as date) as budget_month,
        channel,
        campaign,
        sum(spend) as spend,
        sum(revenue) as revenue,
        sum(customers) as customers
    from daily
    group by cast(date_trunc('month', date_day) as date), channel, campaign

),

{{ budget_recommendation_ctes(['channel', 'campaign']) }}
