-- Ad delivery of every platform per day, ad account and campaign, under the UTM
-- source/medium the platform's ads carry (macros/ad_platforms.sql) and the campaign name
-- they send as utm_campaign, so the spend lines up with the sessions and contacts those
-- ads bring in.
with

delivery as (

    select * from {{ ref('int_ad_delivery_unioned') }}

),

daily_campaign_delivery as (

    select
        delivery.date_day,
        delivery.platform,
        delivery.ad_account_id,
        delivery.campaign_id,
        coalesce(delivery.campaign_name, '(none)') as campaign,
        delivery.channel,
        delivery.utm_source as source,
        delivery.utm_medium as medium,
        cast(coalesce(sum(delivery.spend_in_reporting_currency), 0) as {{ money_type() }}) as spend,
        cast(coalesce(sum(delivery.impressions), 0) as bigint) as impressions,
        cast(coalesce(sum(delivery.clicks), 0) as bigint) as clicks
    from delivery
    group by
        delivery.date_day,
        delivery.platform,
        delivery.ad_account_id,
        delivery.campaign_id,
        coalesce(delivery.campaign_name, '(none)'),
        delivery.channel,
        delivery.utm_source,
        delivery.utm_medium

)

select * from daily_campaign_delivery
