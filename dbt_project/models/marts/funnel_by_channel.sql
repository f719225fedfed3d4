-- Lifecycle funnel per channel and cohort (the month a contact was created): how many
-- of the cohort's contacts ever reached each stage, and the conversion rates between.
with

contacts as (

    select * from {{ ref('int_contacts_attributed') }}

),

cohort_stage_counts as (

    select
        channel,
        cast(date_trunc('month', created_at) as date) as cohort_month,
        count(became_lead_at) as leads,
        count(became_mql_at) as mqls,
        count(became_sql_at) as sqls,
        count(became_customer_at) as customers
    from contacts
    group by channel, cast(date_trunc('month', created_at) as date)

),

final as (

    select
        *,
        {{ safe_divide('mqls', 'leads') }} as lead_to_mql_rate,
        {{ safe_divide('sqls', 'mqls') }} as mql_to_sql_rate,
        {{ safe_divide('customers', 'sqls') }} as sql_to_customer_rate,
        {{ safe_divide('customers', 'leads') }} as lead_to_customer_rate
    from cohort_stage_counts

)

select * from final
