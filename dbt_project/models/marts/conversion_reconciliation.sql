-- What each ad platform says it converted, next to what the CRM saw, per platform, ad
-- account and day. The platform counts by its own attribution (clicks and views, within
-- its window, restated for days); the CRM side counts live contacts that became leads
-- with the platform's UTM source/medium as their first touch. A CRM lead belongs to the
-- ad account of the ad it clicked (utm_content = ad id; Google Ads puts the ad group id
-- there), else of its campaign when only one account runs a campaign of that name, and
-- is placed on its day in that account's time zone, the way the platform reports days;
-- a lead naming neither is '(unknown)' on its UTC day.
with

ad_delivery as (

    select * from {{ ref('ad_performance_daily') }}

),

contacts as (

    select * from {{ ref('int_contacts_attributed') }}
    where became_lead_at is not null

),

platforms as (

    {{ ad_platforms_rows() }}

),

platform_daily as (

    select
        platform,
        ad_account_id,
        date_day,
        -- added through DECIMAL (Google's are fractional): the same on every run
        {{ sum_exactly('conversions') }} as platform_conversions
    from ad_delivery
    group by platform, ad_account_id, date_day

),

ad_accounts_by_ad as (

    select platform, ad_id, min(ad_account_id) as ad_account_id, min(account_timezone) as account_timezone
    from ad_delivery
    -- platforms read at ad-group level (Google Ads) have no ads
    where ad_id != '(none)'
    group by platform, ad_id

),

ad_accounts_by_ad_group as (

    select platform, ad_group_id, min(ad_account_id) as ad_account_id, min(account_timezone) as account_timezone
    from ad_delivery
    group by platform, ad_group_id

),

ad_accounts_by_campaign as (

    select platform, campaign_name, min(ad_account_id) as ad_account_id, min(account_timezone) as account_timezone
    from ad_delivery
    group by platform, campaign_name
    having count(distinct ad_account_id) = 1

),

crm_leads as (

    select
        platforms.platform,
        coalesce(by_ad.ad_account_id, by_ad_group.ad_account_id, by_campaign.ad_account_id, '(unknown)')
            as ad_account_id,
        coalesce(by_ad.account_timezone, by_ad_group.account_timezone, by_campaign.account_timezone, 'UTC')
            as time_zone,
        contacts.became_lead_at
    from contacts
    inner join platforms
        on contacts.source = platforms.utm_source
        and contacts.medium = platforms.utm_medium
    left join ad_accounts_by_ad as by_ad
        on platforms.platform = by_ad.platform
        and contacts.content = by_ad.ad_id
    left join ad_accounts_by_ad_group as by_ad_group
        on platforms.platform = by_ad_group.platform
        and contacts.content = by_ad_group.ad_group_id
    left join ad_accounts_by_campaign as by_campaign
        on platforms.platform = by_campaign.platform
        and contacts.campaign = by_campaign.campaign_name

),

crm_daily as (

    select
        platform,
        ad_account_id,
        cast({{ utc_to_local_timestamp('became_lead_at', 'time_zone') }} as date) as date_day,
        count(*) as crm_leads
    from crm_leads
    group by platform, ad_account_id, cast({{ utc_to_local_timestamp('became_lead_at', 'time_zone') }} as date)

),

joined as (

    select
        coalesce(platform_daily.platform, crm_daily.platform) as platform,
        coalesce(platform_daily.ad_account_id, crm_daily.ad_account_id) as ad_account_id,
        coalesce(platform_daily.date_day, crm_daily.date_day) as date_day,
        cast(coalesce(platform_daily.platform_conversions, 0) as double) as platform_conversions,
        cast(coalesce(crm_daily.crm_leads, 0) as bigint) as crm_leads,
        platform_daily.platform is not null as has_platform_data
    from platform_daily
    full outer join crm_daily
        on platform_daily.platform = crm_daily.platform
        and platform_daily.ad_account_id = crm_daily.ad_account_id
        and platform_daily.date_day = crm_daily.date_day

),

final as (

    select
        joined.platform,
        joined.ad_account_id,
        joined.date_day,
        platforms.utm_source,
        platforms.utm_medium,
        joined.platform_conversions,
        joined.crm_leads,
        joined.platform_conversions - joined.crm_leads as conversion_gap,
        {{ safe_divide('joined.platform_conversions - joined.crm_leads', 'joined.crm_leads') }} as gap_ratio,
        joined.has_platform_data
    from joined
    left join platforms
        on joined.platform = platforms.platform

)

select * from final
