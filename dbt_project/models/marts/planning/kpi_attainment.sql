-- Every goal of seeds/kpi_goals.csv against its actuals up to the latest data date:
-- pace against a target prorated by elapsed days, a projection to the period's end,
-- and the cost per unit against the goal's cap. Money is in the reporting currency: a goal's
-- target and cap in another currency are converted at the rate of the last day measured (the
-- period's end, or the as-of date while the period runs), like any amount of that day.
{%- set goal_currency = "coalesce(goals.currency_code, '" ~ var('reporting_currency') ~ "')" %}
{#- the day whose rate converts a goal's amounts: the last day measured (before any data: none, so no amount) #}
{%- set measured_day = "least(as_of.as_of_date, goals.period_end)" %}
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

    select
        date_day,
        channel,
        leads,
        mqls,
        sqls,
        customers,
        revenue,
        spend,
        0 as subscribers
    from channel_days

    union all

    -- channel_performance_daily has no subscriber count: take the stage entries (UTC days)
    select
        cast(entered_at as date) as date_day,
        channel,
        0 as leads,
        0 as mqls,
        0 as sqls,
        0 as customers,
        cast(0 as {{ money_type() }}) as revenue,
        cast(0 as {{ money_type() }}) as spend,
        1 as subscribers
    from subscriber_entries

),

as_of as (

    -- the latest day any source has data for; goals are measured up to it
    select max(date_day) as as_of_date from daily

),

goals_converted as (

    select
        goals.goal_id,
        goals.metric,
        goals.channel,
        goals.period_start,
        goals.period_end,
        coalesce(upper(goals.currency_code), '{{ var("reporting_currency") }}') as goal_currency_code,
        case
            when goals.metric not in ('revenue', 'spend') then cast(goals.target as {{ money_type() }})
            when as_of.as_of_date is not null then {{ to_reporting_currency('goals.target', goal_currency, measured_day) }}
        end as target,
        case
            when as_of.as_of_date is not null
                then {{ to_reporting_currency('goals.max_cost_per_unit', goal_currency, measured_day, scale=4) }}
        end as max_cost_per_unit
    from goals
    cross join as_of

),

goals_timed as (

    select
        goals_converted.*,
        as_of.as_of_date,
        {{ dbt.datediff('period_start', 'period_end', 'day') }} + 1 as period_days,  -- noqa: LT05
        greatest(
            0,
            least(
                {{ dbt.datediff('period_start', 'period_end', 'day') }} + 1,  -- noqa: LT05
                {{ dbt.datediff('period_start', 'as_of.as_of_date', 'day') }} + 1  -- noqa: LT05
            )
        ) as elapsed_days
    from goals_converted
    cross join as_of

),

goal_actuals as (

    select
        goals_timed.goal_id,
        -- DECIMAL sums: a count, or money for revenue and spend goals
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
        ), 0) as {{ money_type() }}) as actual,
        cast(coalesce(sum(daily.spend), 0) as {{ money_type() }}) as spend
    from goals_timed
    left join daily
        on
            (goals_timed.channel = 'all' or goals_timed.channel = daily.channel)
            and goals_timed.period_start <= daily.date_day
            and goals_timed.period_end >= daily.date_day
            and goals_timed.as_of_date >= daily.date_day
    group by goals_timed.goal_id

),

measured as (

    select
        goals_timed.*,
        goal_actuals.actual,
        goal_actuals.spend,
        {{ divide_money('goals_timed.target * goals_timed.elapsed_days', 'goals_timed.period_days', scale=2) }}
            as target_to_date,
        case
            when goals_timed.metric != 'spend'
                then {{ divide_money('goal_actuals.spend', 'goal_actuals.actual', denominator_scale=2) }}
        end as cost_per_unit
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
        cast(target as {{ money_type() }}) as target,
        target_to_date,
        actual,
        {{ safe_divide('actual', 'target_to_date') }} as pace,
        actual >= target_to_date as is_on_track,
        {{ divide_money('actual * period_days', 'elapsed_days', scale=2) }} as projected_actual,
        spend,
        cast(cost_per_unit as {{ unit_money_type() }}) as cost_per_unit,
        cast(max_cost_per_unit as {{ unit_money_type() }}) as max_cost_per_unit,
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
