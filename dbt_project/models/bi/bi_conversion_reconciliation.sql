-- bi.conversion_reconciliation: the columns dashboards read from marts.conversion_reconciliation, by name, money as DECIMAL(38, 6).
-- Add columns freely; removing or retyping one breaks dashboards (tests/e2e/test_bi_schema.py).
{{ config(alias='conversion_reconciliation') }}

select
    platform,
    ad_account_id,
    date_day,
    platform_conversions,
    crm_leads,
    conversion_gap,
    gap_ratio,
    has_platform_data
from {{ ref('conversion_reconciliation') }}
