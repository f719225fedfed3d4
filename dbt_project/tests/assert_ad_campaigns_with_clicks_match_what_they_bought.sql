-- Every ad campaign with clicks on days GA4 has reported bought sessions or contacts that
-- the campaign-match rule found (macros/ad_platforms.sql). A row here is a campaign whose
-- spend would sit on a row of its own, its leads on another, and cost per lead, CAC and
-- ROAS wrong for both. Fix it at the source of the mismatch: var ad_campaign_match (name,
-- id or name_or_id) to what the ads' links send as utm_campaign, the links' utm_campaign,
-- or a seeds/utm_channel_mapping.csv row when their utm_source / utm_medium fall in an
-- unpaid channel (GA4 reads facebook / social as organic social). Without GA4 data the
-- rule cannot be checked (a campaign may bring no lead): the test passes.
with

ga4_days as (

    select min(date_day) as first_day, max(date_day) as last_day
    from {{ ref('stg_ga4__sessions_daily') }}

),

clicked as (

    select
        delivery.platform,
        delivery.ad_account_id,
        delivery.campaign_id,
        sum(delivery.clicks) as clicks,
        sum(delivery.spend_in_reporting_currency) as spend
    from {{ ref('int_ad_delivery_unioned') }} as delivery
    cross join ga4_days
    where delivery.date_day between ga4_days.first_day and ga4_days.last_day
    group by delivery.platform, delivery.ad_account_id, delivery.campaign_id
    having sum(delivery.clicks) > 0

)

select
    campaigns.platform,
    campaigns.ad_account_id,
    campaigns.campaign_id,
    campaigns.campaign_name,
    clicked.clicks,
    clicked.spend,
    '{{ var("ad_campaign_match", "name_or_id") }}' as ad_campaign_match
from clicked
inner join {{ ref('int_ad_campaigns') }} as campaigns
    on clicked.platform = campaigns.platform
    and clicked.ad_account_id is not distinct from campaigns.ad_account_id
    and clicked.campaign_id = campaigns.campaign_id
where campaigns.matched_sessions = 0
    and campaigns.matched_contacts = 0
