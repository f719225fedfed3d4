-- Ad delivery of every ad platform in one shape: one CTE per platform, stacked (its channel
-- comes from the sessions and contacts its campaigns bought: int_ad_campaigns). A
-- row is a platform's finest daily grain: Meta an ad, Google Ads an ad group (the project
-- reads no Google ads, so ad_id is '(none)' there). Money is in the account's currency,
-- with spend and conversion value also in the reporting currency (converted in staging).
-- Adding a platform is one more CTE selecting the same columns from its staging models,
-- plus its entry in macros/ad_platforms.sql.
with

meta_ads as (

    select
        'meta_ads' as platform,
        coalesce(insights.ad_account_id, replace(insights.source_account_id, 'act_', '')) as ad_account_id,
        accounts.account_name,
        accounts.timezone_name as account_timezone,
        insights.campaign_id,
        insights.campaign_name,
        insights.adset_id as ad_group_id,
        insights.adset_name as ad_group_name,
        insights.ad_id,
        insights.ad_name,
        insights.date_day,
        insights.account_currency,
        insights.spend as spend_in_account_currency,
        insights.spend_in_reporting_currency,
        insights.impressions,
        insights.clicks,
        -- Meta omits actions and action_values when there are none
        cast(insights.lead_actions as double) as conversions,
        cast(insights.lead_action_value as {{ amount_type() }}) as conversion_value_in_account_currency,
        insights.lead_action_value_in_reporting_currency as conversion_value_in_reporting_currency,
        insights.record_json
    from {{ ref('stg_meta_ads__insights') }} as insights
    left join {{ ref('stg_meta_ads__ad_accounts') }} as accounts
        on coalesce(insights.ad_account_id, replace(insights.source_account_id, 'act_', '')) = accounts.ad_account_id

),

google_ads as (

    select
        'google_ads' as platform,
        performance.customer_id as ad_account_id,
        customers.account_name,
        coalesce(performance.account_timezone, customers.time_zone) as account_timezone,
        performance.campaign_id,
        performance.campaign_name,
        performance.ad_group_id,
        performance.ad_group_name,
        -- ad-group level: searchStream FROM ad_group has no ads
        '(none)' as ad_id,
        cast(null as varchar) as ad_name,
        performance.date_day,
        coalesce(performance.account_currency, customers.currency) as account_currency,
        performance.spend as spend_in_account_currency,
        performance.spend_in_reporting_currency,
        performance.impressions,
        performance.clicks,
        performance.conversions,
        performance.conversions_value as conversion_value_in_account_currency,
        performance.conversions_value_in_reporting_currency as conversion_value_in_reporting_currency,
        performance.record_json
    from {{ ref('stg_google_ads__ad_group_performance') }} as performance
    left join {{ ref('stg_google_ads__customers') }} as customers
        on performance.customer_id = customers.customer_id

),

yandex_direct as (

    select
        'yandex_direct' as platform,
        -- the advertiser's login: one Direct account per Client-Login
        performance.client_login as ad_account_id,
        performance.client_login as account_name,
        performance.account_timezone,
        performance.campaign_id,
        performance.campaign_name,
        performance.ad_group_id,
        performance.ad_group_name,
        -- ad-group level: the report is not split by ad
        '(none)' as ad_id,
        cast(null as varchar) as ad_name,
        performance.date_day,
        performance.account_currency,
        performance.spend as spend_in_account_currency,
        performance.spend_in_reporting_currency,
        performance.impressions,
        performance.clicks,
        performance.conversions,
        -- the report is not asked for goal revenue
        cast(null as {{ amount_type() }}) as conversion_value_in_account_currency,
        cast(null as {{ money_type() }}) as conversion_value_in_reporting_currency,
        performance.record_json
    from {{ ref('stg_yandex_direct__ad_group_performance') }} as performance

),

vk_ads as (

    select
        'vk_ads' as platform,
        statistics.cabinet_id as ad_account_id,
        statistics.account_name,
        -- VK Ads names no time zone: a cabinet's statistics days are Moscow days
        'Europe/Moscow' as account_timezone,
        statistics.ad_plan_id as campaign_id,
        statistics.ad_plan_name as campaign_name,
        statistics.ad_group_id,
        statistics.ad_group_name,
        statistics.banner_id as ad_id,
        statistics.banner_name as ad_name,
        statistics.date_day,
        statistics.account_currency,
        statistics.spend as spend_in_account_currency,
        statistics.spend_in_reporting_currency,
        statistics.shows as impressions,
        statistics.clicks,
        statistics.goals as conversions,
        -- the base metrics carry no goal value
        cast(null as {{ amount_type() }}) as conversion_value_in_account_currency,
        cast(null as {{ money_type() }}) as conversion_value_in_reporting_currency,
        statistics.record_json
    from {{ ref('stg_vk_ads__banner_statistics') }} as statistics

),

unioned as (

    select * from meta_ads
    union all
    select * from google_ads
    union all
    select * from yandex_direct
    union all
    select * from vk_ads

)

select * from unioned
