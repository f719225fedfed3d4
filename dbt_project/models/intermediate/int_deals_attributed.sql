-- One row per live (not archived) deal, credited to the first-touch attribution of its
-- first associated live contact (lowest contact id). Deals with no such contact get
-- channel 'other' and '(none)' for source, medium and campaign.
with

deals as (

    select * from {{ ref('stg_hubspot__deals') }}
    where not is_archived

),

deal_contacts as (

    select * from {{ ref('stg_hubspot__deal_contacts') }}

),

contacts as (

    select * from {{ ref('int_contacts_attributed') }}

),

ranked_deal_contacts as (

    select
        deal_contacts.deal_id,
        deal_contacts.contact_id,
        row_number() over (
            partition by deal_contacts.deal_id
            -- ids are digit strings: order by length first so '999' comes before '1000'
            order by length(deal_contacts.contact_id), deal_contacts.contact_id
        ) as contact_rank
    from deal_contacts
    inner join contacts
        on deal_contacts.contact_id = contacts.contact_id

),

primary_contacts as (

    select
        deal_id,
        contact_id
    from ranked_deal_contacts
    where contact_rank = 1

),

attributed as (

    select
        deals.deal_id,
        deals.deal_name,
        deals.pipeline,
        deals.deal_stage,
        deals.is_closed_won,
        deals.amount,
        deals.deal_currency_code,
        deals.amount_in_reporting_currency,
        deals.created_at,
        deals.closed_at,
        primary_contacts.contact_id as primary_contact_id,
        coalesce(contacts.channel, 'other') as channel,
        coalesce(contacts.source, '(none)') as source,
        coalesce(contacts.medium, '(none)') as medium,
        coalesce(contacts.campaign, '(none)') as campaign
    from deals
    left join primary_contacts
        on deals.deal_id = primary_contacts.deal_id
    left join contacts
        on primary_contacts.contact_id = contacts.contact_id

)

select * from attributed
