-- One row per day, channel, source, medium and campaign: ad delivery on the Meta side,
-- lifecycle stages reached and won revenue on the CRM side. The three sides are stacked
-- and summed (a full outer union), so a day with spend and no leads and a day with
-- leads and no spend both appear.
with

ad_spend as (

    select * from {{ ref('int_ad_spend_attributed') }}

),

stage_entries as (

    select * from {{ ref('int_contact_stages_unpivoted') }}
    where lifecycle_stage in ('lead', 'mql', 'sql', 'customer')

),

won_deals as (

    select * from {{ ref('int_deals_attributed') }}
    where is_closed_won
        and closed_at is not null

),

daily_ad_spend as (

    select
        date_day,
        channel,
        source,
        medium,
        campaign,
        spend,
        impressions,
        clicks,
        0 as leads,
        0 as mqls,
        0 as sqls,
        0 as customers,
        0.0 as revenue
    from ad_spend

),

daily_stage_entries as (

    select
        cast(entered_at as date) as date_day,
        channel,
        source,
        medium,
        campaign,
        0.0 as spend,
        0 as impressions,
        0 as clicks,
        count(*) filter (where lifecycle_stage = 'lead') as leads,
        count(*) filter (where lifecycle_stage = 'mql') as mqls,
        count(*) filter (where lifecycle_stage = 'sql') as sqls,
        count(*) filter (where lifecycle_stage = 'customer') as customers,
        0.0 as revenue
    from stage_entries
    group by cast(entered_at as date), channel, source, medium, campaign

),

daily_revenue as (

    select
        cast(closed_at as date) as date_day,
        channel,
        source,
        medium,
        campaign,
        0.0 as spend,
        0 as impressions,
        0 as clicks,
        0 as leads,
        0 as mqls,
        0 as sqls,
        0 as customers,
        coalesce(amount_in_reporting_currency, 0) as revenue
    from won_deals

),

all_sides as (

    select * from daily_ad_spend
    union all
    select * from daily_stage_entries
    union all
    select * from daily_revenue

),

daily_totals as (

    select
        date_day,
        channel,
        source,
        medium,
        campaign,
        cast(sum(spend) as double) as spend,
        cast(sum(impressions) as bigint) as impressions,
        cast(sum(clicks) as bigint) as clicks,
        cast(sum(leads) as bigint) as leads,
        cast(sum(mqls) as bigint) as mqls,
        cast(sum(sqls) as bigint) as sqls,
        cast(sum(customers) as bigint) as customers,
        cast(sum(revenue) as double) as revenue
    from all_sides
    group by date_day, channel, source, medium, campaign

),

final as (

    select
        *,
        {{ safe_divide('spend', 'leads') }} as cost_per_lead,
        {{ safe_divide('spend', 'customers') }} as cac,
        {{ safe_divide('revenue', 'spend') }} as roas
    from daily_totals

)

select * from final
