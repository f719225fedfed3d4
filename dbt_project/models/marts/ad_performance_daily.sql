-- Ad delivery per platform, account, campaign, ad group (Meta: ad set), ad and day, in
-- one shape for every ad platform: one CTE per platform, stacked. Adding a platform is
-- one more CTE selecting the same columns from its staging models, plus its entry in
-- macros/ad_platforms.sql.
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
        insights.lead_actions as conversions,
        insights.lead_action_value as conversion_value_in_account_currency,
        insights.record_json
    from {{ ref('stg_meta_ads__insights') }} as insights
    left join {{ ref('stg_meta_ads__ad_accounts') }} as accounts
        on coalesce(insights.ad_account_id, replace(insights.source_account_id, 'act_', '')) = accounts.ad_account_id

),

all_platforms as (

    select * from meta_ads

),

platforms as (

    {{ ad_platforms_rows() }}

),

platform_channels as (

    select
        platform,
        {{ channel_from_utm('utm_source', 'utm_medium') }} as channel
    from platforms

),

final as (

    select
        all_platforms.platform,
        coalesce(platform_channels.channel, 'other') as channel,
        all_platforms.ad_account_id,
        all_platforms.account_name,
        all_platforms.account_timezone,
        all_platforms.campaign_id,
        all_platforms.campaign_name,
        all_platforms.ad_group_id,
        all_platforms.ad_group_name,
        all_platforms.ad_id,
        all_platforms.ad_name,
        all_platforms.date_day,
        all_platforms.account_currency,
        '{{ var("reporting_currency") }}' as reporting_currency,
        cast(coalesce(all_platforms.spend_in_account_currency, 0) as double) as spend_in_account_currency,
        cast(coalesce(all_platforms.spend_in_reporting_currency, 0) as double) as spend_in_reporting_currency,
        cast(coalesce(all_platforms.impressions, 0) as bigint) as impressions,
        cast(coalesce(all_platforms.clicks, 0) as bigint) as clicks,
        cast(coalesce(all_platforms.conversions, 0) as double) as conversions,
        cast(coalesce(all_platforms.conversion_value_in_account_currency, 0) as double)
            as conversion_value_in_account_currency,
        cast(coalesce(
            {{ to_reporting_currency('all_platforms.conversion_value_in_account_currency', 'all_platforms.account_currency') }},
            0
        ) as double) as conversion_value_in_reporting_currency,
        all_platforms.record_json
    from all_platforms
    left join platform_channels
        on all_platforms.platform = platform_channels.platform

)

select * from final
