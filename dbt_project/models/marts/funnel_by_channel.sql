-- Lifecycle funnel per channel and cohort (the month a contact was created): how many
-- of the cohort's contacts ever reached each stage, the conversion rates between, and
-- the median days each step took.
with

contacts as (

    select * from {{ ref('int_contacts_attributed') }}

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

final as (

    select
        channel,
        cohort_month,
        leads,
        mqls,
        sqls,
        customers,
        {{ safe_divide('mqls', 'leads') }} as lead_to_mql_rate,
        {{ safe_divide('sqls', 'mqls') }} as mql_to_sql_rate,
        {{ safe_divide('customers', 'sqls') }} as sql_to_customer_rate,
        {{ safe_divide('customers', 'leads') }} as lead_to_customer_rate,
        -- added after the first release: new columns go last
        touches,
        median_days_lead_to_mql,
        median_days_mql_to_sql,
        median_days_sql_to_customer
    from cohort_stage_counts

)

select * from final
