-- bi.kpi_attainment: the columns dashboards read from marts.kpi_attainment, by name, money as DECIMAL(38, 6).
-- Add columns freely; removing or retyping one breaks dashboards (tests/e2e/test_bi_schema.py).
{{ config(alias='kpi_attainment') }}

select
    goal_id,
    metric,
    channel,
    period_start,
    period_end,
    as_of_date,
    period_status,
    period_days,
    elapsed_days,
    cast(target as decimal(38, 6)) as target,
    cast(target_to_date as decimal(38, 6)) as target_to_date,
    cast(actual as decimal(38, 6)) as actual,
    pace,
    is_on_track,
    cast(projected_actual as decimal(38, 6)) as projected_actual,
    cast(spend as decimal(38, 6)) as spend,
    cast(cost_per_unit as decimal(38, 6)) as cost_per_unit,
    cast(max_cost_per_unit as decimal(38, 6)) as max_cost_per_unit,
    is_within_cost_cap,
    goal_currency_code,
    reporting_currency
from {{ ref('kpi_attainment') }}
