-- bi.attribution_by_channel: the columns dashboards read from marts.attribution_by_channel, by name, money as DECIMAL(38, 6).
-- Add columns freely; removing or retyping one breaks dashboards (tests/e2e/test_bi_schema.py).
{{ config(alias='attribution_by_channel') }}

select
    attribution_by_channel_id,
    attribution_model,
    channel,
    close_month,
    attributed_customers,
    cast(attributed_revenue as decimal(38, 6)) as attributed_revenue,
    deals_touched
from {{ ref('attribution_by_channel') }}
