-- One row per live contact: its first-touch attribution, where it stands in the funnel
-- now, when it reached each stage, and the won revenue credited to it.
with

contacts as (

    select * from {{ ref('int_contacts_attributed') }}

),

current_stages as (

    select
        contact_id,
        lifecycle_stage
    from {{ ref('lead_stage_history') }}
    where is_current

),

won_deals as (

    select * from {{ ref('int_deals_attributed') }}
    where is_closed_won

),

revenue_per_contact as (

    select
        primary_contact_id as contact_id,
        count(*) as won_deals,
        sum(coalesce(amount_in_reporting_currency, 0)) as won_revenue
    from won_deals
    where primary_contact_id is not null
    group by primary_contact_id

),

final as (

    select
        contacts.contact_id,
        contacts.channel,
        contacts.source,
        contacts.medium,
        contacts.campaign,
        -- the latest stage entered; HubSpot's property only for a contact with no stage dates
        coalesce(
            current_stages.lifecycle_stage,
            case contacts.lifecycle_stage
                {%- for stage in hubspot_lifecycle_stages() %}
                    when '{{ stage.hubspot_value }}' then '{{ stage.name }}'
                {%- endfor %}
                else contacts.lifecycle_stage
            end
        ) as current_stage,
        contacts.created_at,
        contacts.became_subscriber_at,
        contacts.became_lead_at,
        contacts.became_mql_at,
        contacts.became_sql_at,
        contacts.became_customer_at,
        contacts.became_customer_at is not null as is_customer,
        cast(coalesce(revenue_per_contact.won_deals, 0) as bigint) as won_deals,
        cast(coalesce(revenue_per_contact.won_revenue, 0) as {{ money_type() }}) as won_revenue,
        contacts.lifecycle_stage as hubspot_lifecycle_stage,
        contacts.properties_json
    from contacts
    left join current_stages
        on contacts.contact_id = current_stages.contact_id
    left join revenue_per_contact
        on contacts.contact_id = revenue_per_contact.contact_id

)

select * from final
