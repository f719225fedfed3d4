-- Ad delivery per platform, account, campaign, ad group (Meta: ad set), ad and day, in
-- one shape for every ad platform (int_ad_delivery_unioned stacks them), with the
-- channel of the UTM pair the platform's ads carry and money in both currencies.
with

delivery as (

    select * from {{ ref('int_ad_delivery_unioned') }}

),

final as (

    select
        delivery.platform,
        delivery.channel,
        delivery.ad_account_id,
        delivery.account_name,
        delivery.account_timezone,
        delivery.campaign_id,
        delivery.campaign_name,
        delivery.ad_group_id,
        delivery.ad_group_name,
        delivery.ad_id,
        delivery.ad_name,
        delivery.date_day,
        delivery.account_currency,
        '{{ var("reporting_currency") }}' as reporting_currency,
        cast(coalesce(delivery.spend_in_account_currency, 0) as double) as spend_in_account_currency,
        cast(coalesce(delivery.spend_in_reporting_currency, 0) as double) as spend_in_reporting_currency,
        cast(coalesce(delivery.impressions, 0) as bigint) as impressions,
        cast(coalesce(delivery.clicks, 0) as bigint) as clicks,
        cast(coalesce(delivery.conversions, 0) as double) as conversions,
        cast(coalesce(delivery.conversion_value_in_account_currency, 0) as double)
            as conversion_value_in_account_currency,
        cast(coalesce(
            {{ to_reporting_currency('delivery.conversion_value_in_account_currency', 'delivery.account_currency') }},
            0
        ) as double) as conversion_value_in_reporting_currency,
        delivery.record_json
    from delivery

)

select * from final
