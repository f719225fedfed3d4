-- One row per sent Mailchimp campaign: what Mailchimp reports for it (sends, bounces,
-- opens, clicks, unsubscribes, and rates over delivered emails) and what it drove on
-- the website and in the CRM. Email links carry utm_medium=email and
-- utm_campaign=<the campaign's tracking name>, so GA4 sessions, HubSpot contacts and
-- their won deals are matched to a campaign on that pair. The counters are the
-- platform's report, not recounted from the activity (stg_mailchimp__email_activity);
-- tests check that both agree.
with

campaigns as (

    select * from {{ ref('stg_mailchimp__campaigns') }}

),

reports as (

    select * from {{ ref('stg_mailchimp__reports') }}

),

email_sessions as (

    select
        campaign as tracking_name,
        sum(sessions) as sessions,
        sum(engaged_sessions) as engaged_sessions
    from {{ ref('int_sessions_attributed') }}
    where medium = 'email'
    group by campaign

),

email_contacts as (

    select
        campaign as tracking_name,
        count(*) as contacts,
        count(became_lead_at) as leads,
        count(became_mql_at) as mqls,
        count(became_customer_at) as customers
    from {{ ref('int_contacts_attributed') }}
    where medium = 'email'
    group by campaign

),

email_won_deals as (

    select
        campaign as tracking_name,
        sum(coalesce(amount_in_reporting_currency, 0)) as won_revenue
    from {{ ref('int_deals_attributed') }}
    where medium = 'email' and is_closed_won
    group by campaign

),

campaign_counts as (

    select
        campaigns.campaign_id,
        campaigns.campaign_title,
        campaigns.subject_line,
        campaigns.tracking_name,
        campaigns.list_id,
        campaigns.list_name,
        campaigns.sent_at,
        reports.campaign_id is not null as has_report,
        -- a campaign whose report was not read yet still shows what the listing says it sent
        coalesce(reports.emails_sent, campaigns.emails_sent, 0) as emails_sent,
        coalesce(reports.hard_bounces, 0) as hard_bounces,
        coalesce(reports.soft_bounces, 0) as soft_bounces,
        coalesce(reports.opens, 0) as opens,
        coalesce(reports.unique_opens, 0) as unique_opens,
        coalesce(reports.clicks, 0) as clicks,
        coalesce(reports.unique_clicks, 0) as unique_clicks,
        coalesce(reports.unique_subscriber_clicks, 0) as unique_subscriber_clicks,
        coalesce(reports.unsubscribes, 0) as unsubscribes
    from campaigns
    left join reports
        on campaigns.campaign_id = reports.campaign_id

),

with_delivery as (

    select
        *,
        hard_bounces + soft_bounces as bounces,
        emails_sent - hard_bounces - soft_bounces as emails_delivered
    from campaign_counts

),

final as (

    select
        with_delivery.campaign_id,
        with_delivery.campaign_title,
        with_delivery.subject_line,
        with_delivery.tracking_name,
        with_delivery.list_id,
        with_delivery.list_name,
        with_delivery.sent_at,
        cast(with_delivery.sent_at as date) as send_date,
        cast(with_delivery.emails_sent as bigint) as emails_sent,
        cast(with_delivery.emails_delivered as bigint) as emails_delivered,
        cast(with_delivery.hard_bounces as bigint) as hard_bounces,
        cast(with_delivery.soft_bounces as bigint) as soft_bounces,
        cast(with_delivery.bounces as bigint) as bounces,
        cast(with_delivery.opens as bigint) as opens,
        cast(with_delivery.unique_opens as bigint) as unique_opens,
        cast(with_delivery.clicks as bigint) as clicks,
        cast(with_delivery.unique_clicks as bigint) as unique_clicks,
        cast(with_delivery.unique_subscriber_clicks as bigint) as unique_subscriber_clicks,
        cast(with_delivery.unsubscribes as bigint) as unsubscribes,
        -- Mailchimp's definitions: opens, clicks and unsubscribes over delivered emails,
        -- clicks over opens for click-to-open, bounces over sent emails
        {{ safe_divide('with_delivery.unique_opens', 'with_delivery.emails_delivered') }} as open_rate,
        {{ safe_divide('with_delivery.unique_subscriber_clicks', 'with_delivery.emails_delivered') }} as click_rate,
        {{ safe_divide('with_delivery.unique_subscriber_clicks', 'with_delivery.unique_opens') }} as click_to_open_rate,
        {{ safe_divide('with_delivery.unsubscribes', 'with_delivery.emails_delivered') }} as unsubscribe_rate,
        {{ safe_divide('with_delivery.bounces', 'with_delivery.emails_sent') }} as bounce_rate,
        cast(coalesce(email_sessions.sessions, 0) as bigint) as sessions,
        cast(coalesce(email_sessions.engaged_sessions, 0) as bigint) as engaged_sessions,
        cast(coalesce(email_contacts.contacts, 0) as bigint) as contacts,
        cast(coalesce(email_contacts.leads, 0) as bigint) as leads,
        cast(coalesce(email_contacts.mqls, 0) as bigint) as mqls,
        cast(coalesce(email_contacts.customers, 0) as bigint) as customers,
        cast(coalesce(email_won_deals.won_revenue, 0) as {{ money_type() }}) as won_revenue,
        {{ safe_divide('coalesce(email_contacts.leads, 0)', 'coalesce(email_sessions.sessions, 0)') }} as session_to_lead_rate,
        with_delivery.has_report
    from with_delivery
    -- a campaign without link tracking (no tracking name) drives nothing we can see
    left join email_sessions
        on with_delivery.tracking_name = email_sessions.tracking_name
    left join email_contacts
        on with_delivery.tracking_name = email_contacts.tracking_name
    left join email_won_deals
        on with_delivery.tracking_name = email_won_deals.tracking_name

)

select * from final
