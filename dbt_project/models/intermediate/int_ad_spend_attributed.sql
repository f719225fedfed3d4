-- Ad delivery of every platform per day, ad account and campaign, under the channel,
-- source, medium and campaign name of the sessions and contacts the campaign bought
-- (int_ad_campaigns), so the spend lines up with what it bought whatever the tagging.
with

delivery as (

    select * from {{ ref('int_ad_delivery_unioned') }}

),

campaigns as (

    select * from {{ ref('int_ad_campaigns') }}

),

daily_campaign_delivery as (

    select
        delivery.date_day,
        delivery.platform,
        delivery.ad_account_id,
        delivery.campaign_id,
        coalesce(campaigns.campaign_name, delivery.campaign_name, '(none)') as campaign,
        coalesce(campaigns.channel, 'other') as channel,
        coalesce(campaigns.source, '(none)') as source,
        coalesce(campaigns.medium, '(none)') as medium,
        cast(coalesce(sum(delivery.spend_in_reporting_currency), 0) as {{ money_type() }}) as spend,
        cast(coalesce(sum(delivery.impressions), 0) as bigint) as impressions,
        cast(coalesce(sum(delivery.clicks), 0) as bigint) as clicks
    from delivery
    left join campaigns
        on
            delivery.platform = campaigns.platform
            and delivery.ad_account_id is not distinct from campaigns.ad_account_id
            and delivery.campaign_id = campaigns.campaign_id
    group by
        delivery.date_day,
        delivery.platform,
        delivery.ad_account_id,
        delivery.campaign_id,
        coalesce(campaigns.campaign_name, delivery.campaign_name, '(none)'),
        coalesce(campaigns.channel, 'other'),
        coalesce(campaigns.source, '(none)'),
        coalesce(campaigns.medium, '(none)')

)

select * from daily_campaign_delivery
