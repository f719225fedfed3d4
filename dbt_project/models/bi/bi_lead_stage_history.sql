-- bi.lead_stage_history: the columns dashboards read from marts.lead_stage_history, by name, money as DECIMAL(38, 6).
-- Add columns freely; removing or retyping one breaks dashboards (tests/e2e/test_bi_schema.py).
{{ config(alias='lead_stage_history') }}

select
    contact_id,
    lifecycle_stage,
    stage_order,
    entered_at,
    exited_at,
    days_in_stage,
    is_current,
    channel,
    next_stage
from {{ ref('lead_stage_history') }}
