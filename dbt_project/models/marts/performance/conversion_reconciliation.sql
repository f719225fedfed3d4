-- What each ad platform says it converted, next to what the CRM saw, per platform, ad
-- account and day. The platform counts by its own attribution (clicks and views, within
-- its window, restated for days); the CRM side counts live contacts that became leads
-- whose first touch the platform's campaigns bought (int_contacts_attributed matches
-- utm_campaign, or a gclid, to an ad campaign). A CRM lead belongs to the ad account of
-- the ad it clicked (utm_content = ad id; Google Ads puts the ad group id there), else of
-- its matched campaign, and is placed on its day in that account's time zone, the way the
-- platform reports days; a lead whose account is not known is '(unknown)' on its UTC day.
with

ad_delivery as (

    select * from {{ ref('ad_performance_daily') }}

),

contacts as (

    select * from {{ ref('int_contacts_attributed') }}
    where
        became_lead_at is not null
        and ad_platform is not null

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

    select
        platform,
        ad_id,
        min(ad_account_id) as ad_account_id,
        min(account_timezone) as account_timezone
    from ad_delivery
    -- platforms read at ad-group level (Google Ads) have no ads
    where ad_id != '(none)'
    group by platform, ad_id

),

ad_accounts_by_ad_group as (

    select
        platform,
        ad_group_id,
        min(ad_account_id) as ad_account_id,
        min(account_timezone) as account_timezone
    from ad_delivery
    group by platform, ad_group_id

),

ad_account_time_zones as (

    select
        platform,
        ad_account_id,
        min(account_timezone) as account_timezone
    from ad_delivery
    group by platform, ad_account_id

),

crm_leads as (

    select
        contacts.ad_platform as platform,
        coalesce(by_ad.ad_account_id, by_ad_group.ad_account_id, by_campaign.ad_account_id, '(unknown)')
            as ad_account_id,
        coalesce(by_ad.account_timezone, by_ad_group.account_timezone, by_campaign.account_timezone, 'UTC')
            as time_zone,
        contacts.became_lead_at
    from contacts
    left join ad_accounts_by_ad as by_ad
        on
            contacts.ad_platform = by_ad.platform
            and contacts.content = by_ad.ad_id
    left join ad_accounts_by_ad_group as by_ad_group
        on
            contacts.ad_platform = by_ad_group.platform
            and contacts.content = by_ad_group.ad_group_id
    left join ad_account_time_zones as by_campaign
        on
            contacts.ad_platform = by_campaign.platform
            and contacts.ad_account_id = by_campaign.ad_account_id

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
        cast(coalesce(platform_daily.platform_conversions, 0) as {{ type_double() }}) as platform_conversions,
        cast(coalesce(crm_daily.crm_leads, 0) as bigint) as crm_leads,
        platform_daily.platform is not null as has_platform_data
    from platform_daily
    full outer join crm_daily
        on
            platform_daily.platform = crm_daily.platform
            and platform_daily.ad_account_id = crm_daily.ad_account_id
            and platform_daily.date_day = crm_daily.date_day

),

final as (

    select
        joined.platform,
        joined.ad_account_id,
        joined.date_day,
        joined.platform_conversions,
        joined.crm_leads,
        joined.platform_conversions - joined.crm_leads as conversion_gap,
        {{ safe_divide('joined.platform_conversions - joined.crm_leads', 'joined.crm_leads') }} as gap_ratio,
        joined.has_platform_data
    from joined

)

select * from final
