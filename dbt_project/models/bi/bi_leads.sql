-- bi.leads: the columns dashboards read from marts.leads, by name, money as DECIMAL(38, 6).
-- Add columns freely; removing or retyping one breaks dashboards (tests/e2e/test_bi_schema.py).
{{ config(alias='leads') }}

select
    contact_id,
    channel,
    source,
    medium,
    campaign,
    current_stage,
    created_at,
    became_subscriber_at,
    became_lead_at,
    became_mql_at,
    became_sql_at,
    became_customer_at,
    is_customer,
    won_deals,
    cast(won_revenue as decimal(38, 6)) as won_revenue,
    hubspot_lifecycle_stage
from {{ ref('leads') }}
