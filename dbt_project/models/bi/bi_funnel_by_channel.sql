-- bi.funnel_by_channel: the columns dashboards read from marts.funnel_by_channel, by name, money as DECIMAL(38, 6).
-- Add columns freely; removing or retyping one breaks dashboards (tests/e2e/test_bi_schema.py).
{{ config(alias='funnel_by_channel') }}

select
    channel,
    cohort_month,
    leads,
    mqls,
    sqls,
    customers,
    lead_to_mql_rate,
    mql_to_sql_rate,
    sql_to_customer_rate,
    lead_to_customer_rate,
    touches,
    median_days_lead_to_mql,
    median_days_mql_to_sql,
    median_days_sql_to_customer,
    sessions,
    session_to_lead_rate
from {{ ref('funnel_by_channel') }}
