-- Meta ad delivery per day and campaign, under the UTM source/medium its ads carry
-- (vars meta_ads_utm_source / meta_ads_utm_medium), so the spend lines up with the
-- contacts those ads bring in.
with

insights as (

    select * from {{ ref('stg_meta_ads__insights') }}

),

insights_tagged as (

    select
        date_day,
        ad_account_id,
        campaign_id,
        coalesce(campaign_name, '(none)') as campaign,
        lower('{{ var("meta_ads_utm_source") }}') as source,
        lower('{{ var("meta_ads_utm_medium") }}') as medium,
        spend_in_reporting_currency,
        impressions,
        clicks
    from insights

),

insights_with_channel as (

    select
        *,
        {{ channel_from_utm('source', 'medium') }} as channel
    from insights_tagged

),

daily_campaign_delivery as (

    select
        date_day,
        ad_account_id,
        campaign_id,
        campaign,
        channel,
        source,
        medium,
        cast(coalesce(sum(spend_in_reporting_currency), 0) as double) as spend,
        cast(coalesce(sum(impressions), 0) as bigint) as impressions,
        cast(coalesce(sum(clicks), 0) as bigint) as clicks
    from insights_with_channel
    group by date_day, ad_account_id, campaign_id, campaign, channel, source, medium

)

select * from daily_campaign_delivery
