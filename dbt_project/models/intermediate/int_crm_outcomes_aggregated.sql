{{ config(materialized='table') }}
-- CRM outcomes per UTC day, channel, source, medium and campaign: lifecycle stages live
-- contacts reached (lead, mql, sql, customer) on the day they entered them, and the
-- revenue of won live deals on their close date, under first-touch attribution. HubSpot
-- changes old records (a stage date set late, a contact archived or re-attributed), so
-- any day may change on any run: channel_performance_daily compares this, in full, with
-- the copy saved at its last build to find the days to rebuild. A table, not a view: the
-- contact chain behind it is the costly part, and that comparison reads it three times.
-- Revenue is summed as a decimal so the sum does not depend on the order of addition
-- (a re-run with the same deals must compare equal).
with

stage_entries as (

    select * from {{ ref('int_contact_stages_unpivoted') }}
    where lifecycle_stage in ('lead', 'mql', 'sql', 'customer')

),

won_deals as (

    select * from {{ ref('int_deals_attributed') }}
    where
        is_closed_won
        and closed_at is not null

),

daily_stage_entries as (

    select
        cast(entered_at as date) as date_day,
        channel,
        source,
        medium,
        campaign,
        count(*) filter (where lifecycle_stage = 'lead') as leads,
        count(*) filter (where lifecycle_stage = 'mql') as mqls,
        count(*) filter (where lifecycle_stage = 'sql') as sqls,
        count(*) filter (where lifecycle_stage = 'customer') as customers,
        cast(0 as {{ money_type() }}) as revenue
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
        0 as leads,
        0 as mqls,
        0 as sqls,
        0 as customers,
        cast(coalesce(amount_in_reporting_currency, 0) as {{ money_type() }}) as revenue
    from won_deals

),

daily_outcomes as (

    select
        date_day,
        channel,
        source,
        medium,
        campaign,
        cast(sum(leads) as bigint) as leads,
        cast(sum(mqls) as bigint) as mqls,
        cast(sum(sqls) as bigint) as sqls,
        cast(sum(customers) as bigint) as customers,
        cast(sum(revenue) as {{ money_type() }}) as revenue
    from (
        select * from daily_stage_entries
        union all
        select * from daily_revenue
    ) as outcomes
    group by date_day, channel, source, medium, campaign

)

select * from daily_outcomes
