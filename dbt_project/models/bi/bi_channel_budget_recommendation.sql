-- bi.channel_budget_recommendation: the columns dashboards read from marts.channel_budget_recommendation, by name, money as DECIMAL(38, 6).
-- Add columns freely; removing or retyping one breaks dashboards (tests/e2e/test_bi_schema.py).
{{ config(alias='channel_budget_recommendation') }}

select
    budget_month,
    channel,
    cast(spend as decimal(38, 6)) as spend,
    cast(revenue as decimal(38, 6)) as revenue,
    customers,
    roi,
    cast(cac as decimal(38, 6)) as cac,
    cast(target_cac as decimal(38, 6)) as target_cac,
    is_above_target_cac,
    is_loss_making,
    return_rank,
    current_budget_share,
    recommended_budget_share,
    budget_share_change,
    cast(recommended_spend as decimal(38, 6)) as recommended_spend
from {{ ref('channel_budget_recommendation') }}
