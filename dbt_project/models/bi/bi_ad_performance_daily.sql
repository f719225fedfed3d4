-- bi.ad_performance_daily: the columns dashboards read from marts.ad_performance_daily, by name, money as DECIMAL(38, 6).
-- Add columns freely; removing or retyping one breaks dashboards (tests/e2e/test_bi_schema.py).
{{ config(alias='ad_performance_daily') }}

select
    platform,
    channel,
    ad_account_id,
    account_name,
    account_timezone,
    campaign_id,
    campaign_name,
    ad_group_id,
    ad_group_name,
    ad_id,
    ad_name,
    date_day,
    account_currency,
    reporting_currency,
    cast(spend_in_account_currency as decimal(38, 6)) as spend_in_account_currency,
    cast(spend_in_reporting_currency as decimal(38, 6)) as spend_in_reporting_currency,
    impressions,
    clicks,
    conversions,
    cast(conversion_value_in_account_currency as decimal(38, 6)) as conversion_value_in_account_currency,
    cast(conversion_value_in_reporting_currency as decimal(38, 6)) as conversion_value_in_reporting_currency
from {{ ref('ad_performance_daily') }}
