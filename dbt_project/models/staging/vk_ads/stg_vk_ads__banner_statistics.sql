-- One row per VK Ads banner and day (statistics/banners/day.json, metrics base), with its ad group
-- and ad plan from the object lists, and spent converted at the day's rate. VK sends spent as a
-- string of roubles (the cabinet's currency, user.json); goals are VK's own pixel's (base.vk.goals,
-- else base.goals). The statistics day is taken as a Moscow day, the cabinet's.
with

source as (

    select * from {{ source_or_empty('vk_ads', 'banner_statistics', {'banner_id': 'varchar', 'date': 'date'}) }}

),

renamed as (

    select
        source._account_id as cabinet_id,
        source.banner_id,
        banners.banner_name,
        banners.ad_group_id,
        ad_groups.ad_group_name,
        ad_groups.ad_plan_id,
        ad_plans.ad_plan_name,
        source.date as date_day,
        coalesce(cabinets.currency, 'RUB') as account_currency,
        cabinets.username as account_name,
        cast(nullif(source._record->>'$.base.shows', '') as bigint) as shows,
        cast(nullif(source._record->>'$.base.clicks', '') as bigint) as clicks,
        -- money in the cabinet's currency, exactly as sent (a decimal string)
        cast(nullif(source._record->>'$.base.spent', '') as {{ amount_type() }}) as spend,
        cast(coalesce(source._record->>'$.base.vk.goals', source._record->>'$.base.goals') as double) as goals,
        source._record as record_json,
        source._loaded_at at time zone 'UTC' as loaded_at,
        source._batch_id as batch_id
    from source
    left join {{ ref('stg_vk_ads__banners') }} as banners
        on source._account_id = banners.cabinet_id and source.banner_id = banners.banner_id
    left join {{ ref('stg_vk_ads__ad_groups') }} as ad_groups
        on banners.cabinet_id = ad_groups.cabinet_id and banners.ad_group_id = ad_groups.ad_group_id
    left join {{ ref('stg_vk_ads__ad_plans') }} as ad_plans
        on ad_groups.cabinet_id = ad_plans.cabinet_id and ad_groups.ad_plan_id = ad_plans.ad_plan_id
    left join {{ ref('stg_vk_ads__cabinets') }} as cabinets
        on source._account_id = cabinets.cabinet_id

),

converted as (

    select
        *,
        -- converted at the rate of the row's own day, rounded to the cent
        {{ to_reporting_currency('spend', 'account_currency', 'date_day') }} as spend_in_reporting_currency
    from renamed

)

select * from converted
