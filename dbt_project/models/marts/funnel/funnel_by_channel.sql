-- Lifecycle funnel per channel and cohort (the month a contact was created): the
-- channel's website sessions in that month (GA4), how many of the cohort's contacts ever
-- reached each stage, the conversion rates between, and the median days each step took.
with

contacts as (

    select * from {{ ref('int_contacts_attributed') }}

),

sessions as (

    select * from {{ ref('int_sessions_attributed') }}

),

step_durations as (

    select
        channel,
        cast(date_trunc('month', created_at) as date) as cohort_month,
        created_at,
        became_lead_at,
        became_mql_at,
        became_sql_at,
        became_customer_at,
        {{ days_between('became_lead_at', 'became_mql_at') }} as days_lead_to_mql,
        {{ days_between('became_mql_at', 'became_sql_at') }} as days_mql_to_sql,
        {{ days_between('became_sql_at', 'became_customer_at') }} as days_sql_to_customer
    from contacts

),

cohort_stage_counts as (

    select
        channel,
        cohort_month,
        -- every live contact is one known first touch (see the model docs)
        count(*) as touches,
        count(became_lead_at) as leads,
        count(became_mql_at) as mqls,
        count(became_sql_at) as sqls,
        count(became_customer_at) as customers,
        -- a step whose later date comes before its earlier one is left out, not counted negative
        {{ median('case when days_lead_to_mql >= 0 then days_lead_to_mql end') }} as median_days_lead_to_mql,
        {{ median('case when days_mql_to_sql >= 0 then days_mql_to_sql end') }} as median_days_mql_to_sql,
        {{ median('case when days_sql_to_customer >= 0 then days_sql_to_customer end') }} as median_days_sql_to_customer
    from step_durations
    group by channel, cohort_month

),

monthly_sessions as (

    select
        channel,
        -- the month of the property's day
        cast(date_trunc('month', date_day) as date) as cohort_month,
        sum(sessions) as sessions
    from sessions
    group by channel, cast(date_trunc('month', date_day) as date)

),

-- a month with sessions and no contact (or contacts and no sessions) is a row too
channel_months as (

    select
        coalesce(cohort_stage_counts.channel, monthly_sessions.channel) as channel,
        coalesce(cohort_stage_counts.cohort_month, monthly_sessions.cohort_month) as cohort_month,
        coalesce(cohort_stage_counts.touches, 0) as touches,
        coalesce(cohort_stage_counts.leads, 0) as leads,
        coalesce(cohort_stage_counts.mqls, 0) as mqls,
        coalesce(cohort_stage_counts.sqls, 0) as sqls,
        coalesce(cohort_stage_counts.customers, 0) as customers,
        cohort_stage_counts.median_days_lead_to_mql,
        cohort_stage_counts.median_days_mql_to_sql,
        cohort_stage_counts.median_days_sql_to_customer,
        coalesce(monthly_sessions.sessions, 0) as sessions
    from cohort_stage_counts
    full outer join monthly_sessions
        on
            cohort_stage_counts.channel = monthly_sessions.channel
            and cohort_stage_counts.cohort_month = monthly_sessions.cohort_month

),

final as (

    select
        channel,
        cohort_month,
        cast(leads as bigint) as leads,
        cast(mqls as bigint) as mqls,
        cast(sqls as bigint) as sqls,
        cast(customers as bigint) as customers,
        {{ safe_divide('mqls', 'leads') }} as lead_to_mql_rate,
        {{ safe_divide('sqls', 'mqls') }} as mql_to_sql_rate,
        {{ safe_divide('customers', 'sqls') }} as sql_to_customer_rate,
        {{ safe_divide('customers', 'leads') }} as lead_to_customer_rate,
        -- added after the first release: new columns go last
        cast(touches as bigint) as touches,
        median_days_lead_to_mql,
        median_days_mql_to_sql,
        median_days_sql_to_customer,
        cast(sessions as bigint) as sessions,
        {{ safe_divide('leads', 'sessions') }} as session_to_lead_rate
    from channel_months

)

select * from final
