{{ config(**replace_days_config(
    day_inputs=[
        {'ref': 'stg_meta_ads__insights', 'loaded_from': 'meta_ads.insights'},
        {'ref': 'stg_google_ads__ad_group_performance', 'loaded_from': 'google_ads.ad_group_performance'},
    ],
    compared_inputs=['stg_fx__rates_daily'],
    fingerprint_inputs=[
        {'ref': 'int_ad_campaigns', 'columns': ['platform', 'ad_account_id', 'campaign_id', 'channel']},
        {'ref': 'stg_meta_ads__ad_accounts', 'columns': ['ad_account_id', 'account_name', 'timezone_name']},
        {'ref': 'stg_google_ads__customers', 'columns': ['customer_id', 'account_name', 'time_zone', 'currency']},
    ],
    vars=['reporting_currency', 'fx_rates_source', 'fx_rate_max_age_days'],
)) }}
-- depends_on: {{ ref('stg_meta_ads__insights') }}
-- depends_on: {{ ref('stg_google_ads__ad_group_performance') }}
-- depends_on: {{ ref('int_ad_campaigns') }}
-- depends_on: {{ ref('stg_fx__rates_daily') }}
-- depends_on: {{ ref('stg_meta_ads__ad_accounts') }}
-- depends_on: {{ ref('stg_google_ads__customers') }}
-- Ad delivery per platform, account, campaign, ad group (Meta: ad set), ad and day, in
-- one shape for every ad platform (int_ad_delivery_unioned stacks them), with the
-- channel of what its campaign bought (int_ad_campaigns) and money in both currencies.
with

delivery as (

    select * from {{ ref('int_ad_delivery_unioned') }}
    {{ replace_days_filter() }}

),

campaigns as (

    select * from {{ ref('int_ad_campaigns') }}

),

final as (

    select
        delivery.platform,
        coalesce(campaigns.channel, 'other') as channel,
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
        cast(coalesce(delivery.spend_in_account_currency, 0) as {{ amount_type() }}) as spend_in_account_currency,
        cast(coalesce(delivery.spend_in_reporting_currency, 0) as {{ money_type() }}) as spend_in_reporting_currency,
        cast(coalesce(delivery.impressions, 0) as bigint) as impressions,
        cast(coalesce(delivery.clicks, 0) as bigint) as clicks,
        cast(coalesce(delivery.conversions, 0) as {{ type_double() }}) as conversions,
        cast(coalesce(delivery.conversion_value_in_account_currency, 0) as {{ amount_type() }})
            as conversion_value_in_account_currency,
        cast(coalesce(delivery.conversion_value_in_reporting_currency, 0) as {{ money_type() }})
            as conversion_value_in_reporting_currency,
        delivery.record_json
    from delivery
    left join campaigns
        on
            delivery.platform = campaigns.platform
            and delivery.ad_account_id is not distinct from campaigns.ad_account_id
            and delivery.campaign_id = campaigns.campaign_id

)

select * from final
