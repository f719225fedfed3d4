-- bi.attribution_touches: the columns dashboards read from marts.attribution_touches, by name, money as DECIMAL(38, 6).
-- Add columns freely; removing or retyping one breaks dashboards (tests/e2e/test_bi_schema.py).
{{ config(alias='attribution_touches') }}

select
    attribution_touch_id,
    deal_id,
    contact_id,
    touch_id,
    touch_number,
    touches_in_window,
    touched_at,
    closed_at,
    close_month,
    days_before_close,
    channel,
    source,
    medium,
    campaign,
    cast(deal_revenue as decimal(38, 6)) as deal_revenue,
    first_touch_weight,
    last_touch_weight,
    linear_weight,
    position_based_weight,
    time_decay_weight,
    cast(first_touch_revenue as decimal(38, 6)) as first_touch_revenue,
    cast(last_touch_revenue as decimal(38, 6)) as last_touch_revenue,
    cast(linear_revenue as decimal(38, 6)) as linear_revenue,
    cast(position_based_revenue as decimal(38, 6)) as position_based_revenue,
    cast(time_decay_revenue as decimal(38, 6)) as time_decay_revenue
from {{ ref('attribution_touches') }}
