-- Every goal of seeds/kpi_goals.csv against its actuals up to the latest data date:
-- pace against a target prorated by elapsed days, a projection to the period's end,
-- and the cost per unit against the goal's cap. Money is in the reporting currency.
with

goals as (

    select * from {{ ref('kpi_goals') }}

),

channel_days as (

    select * from {{ ref('channel_performance_daily') }}

),

subscriber_entries as (

    select * from {{ ref('lead_stage_history') }}
    where lifecycle_stage = 'subscriber'

),

daily as (

    select date_day, channel, leads, mqls, sqls, customers, revenue, spend, 0 as subscribers
    from channel_days

    union all

    -- channel_performance_daily has no subscriber count: take the stage entries (UTC days)
    select cast(entered_at as date), channel, 0, 0, 0, 0, 0.0, 0.0, 1
    from subscriber_entries

),

as_of as (

    -- the latest day any source has data for; goals are measured up to it
    select max(date_day) as as_of_date from daily

),

goals_converted as (

    select
        goal_id,
        metric,
        channel,
        period_start,
        period_end,
        coalesce(upper(currency_code), '{{ var("reporting_currency") }}') as goal_currency_code,
        case
            when metric in ('revenue', 'spend')
                then {{ to_reporting_currency('target', "coalesce(currency_code, '" ~ var('reporting_currency') ~ "')") }}
            else target
        end as target,
        {{ to_reporting_currency('max_cost_per_unit', "coalesce(currency_code, '" ~ var('reporting_currency') ~ "')") }}
            as max_cost_per_unit
    from goals

),

goals_timed as (

    select
        goals_converted.*,
        as_of.as_of_date,
        {{ dbt.datediff('period_start', 'period_end', 'day') }} + 1 as period_days,
        greatest(0, least(
            {{ dbt.datediff('period_start', 'period_end', 'day') }} + 1,
            {{ dbt.datediff('period_start', 'as_of.as_of_date', 'day') }} + 1
        )) as elapsed_days
    from goals_converted
    cross join as_of

),

goal_actuals as (

    select
        goals_timed.goal_id,
        cast(coalesce(sum(
            case goals_timed.metric
                when 'leads' then daily.leads
                when 'mqls' then daily.mqls
                when 'sqls' then daily.sqls
                when 'customers' then daily.customers
                when 'subscribers' then daily.subscribers
                when 'revenue' then daily.revenue
                when 'spend' then daily.spend
            end
        ), 0) as double) as actual,
        cast(coalesce(sum(daily.spend), 0) as double) as spend
    from goals_timed
    left join daily
        on (goals_timed.channel = 'all' or daily.channel = goals_timed.channel)
        and daily.date_day between goals_timed.period_start and goals_timed.period_end
        and daily.date_day <= goals_timed.as_of_date
    group by goals_timed.goal_id

),

measured as (

    select
        goals_timed.*,
        goal_actuals.actual,
        goal_actuals.spend,
        cast(goals_timed.target * goals_timed.elapsed_days / goals_timed.period_days as double) as target_to_date,
        case when goals_timed.metric != 'spend' then {{ safe_divide('goal_actuals.spend', 'goal_actuals.actual') }} end
            as cost_per_unit
    from goals_timed
    inner join goal_actuals
        on goals_timed.goal_id = goal_actuals.goal_id

),

final as (

    select
        goal_id,
        metric,
        channel,
        period_start,
        period_end,
        as_of_date,
        case
            when as_of_date < period_start then 'upcoming'
            when as_of_date >= period_end then 'ended'
            else 'in_progress'
        end as period_status,
        cast(period_days as integer) as period_days,
        cast(elapsed_days as integer) as elapsed_days,
        cast(target as double) as target,
        target_to_date,
        actual,
        {{ safe_divide('actual', 'target_to_date') }} as pace,
        actual >= target_to_date as is_on_track,
        {{ safe_divide('actual * period_days', 'elapsed_days') }} as projected_actual,
        spend,
        cost_per_unit,
        cast(max_cost_per_unit as double) as max_cost_per_unit,
        case
            when max_cost_per_unit is null or metric = 'spend' then null
            when actual > 0 then cost_per_unit <= max_cost_per_unit
            -- nothing achieved yet: within the cap only while nothing was spent either
            else spend = 0
        end as is_within_cost_cap,
        goal_currency_code,
        '{{ var("reporting_currency") }}' as reporting_currency
    from measured

)

select * from final
