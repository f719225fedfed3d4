-- bi.email_performance: the columns dashboards read from marts.email_performance, by name, money as DECIMAL(38, 6).
-- Add columns freely; removing or retyping one breaks dashboards (tests/e2e/test_bi_schema.py).
{{ config(alias='email_performance') }}

select
    campaign_id,
    campaign_title,
    subject_line,
    tracking_name,
    list_id,
    list_name,
    sent_at,
    send_date,
    emails_sent,
    emails_delivered,
    hard_bounces,
    soft_bounces,
    bounces,
    opens,
    unique_opens,
    clicks,
    unique_clicks,
    unique_subscriber_clicks,
    unsubscribes,
    open_rate,
    click_rate,
    click_to_open_rate,
    unsubscribe_rate,
    bounce_rate,
    sessions,
    engaged_sessions,
    contacts,
    leads,
    mqls,
    customers,
    cast(won_revenue as decimal(38, 6)) as won_revenue,
    session_to_lead_rate,
    has_report
from {{ ref('email_performance') }}
