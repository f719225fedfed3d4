-- One row per marketing touch of a live contact: each page visit HubSpot recorded, with
-- its channel by the same rules as contacts and GA4 sessions (macros/channels.sql). A
-- visit no rule places is 'other' (GA4's Unassigned).
with

visits as (

    select * from {{ ref('stg_hubspot__contact_visits') }}

),

contacts as (

    select contact_id from {{ ref('int_contacts_attributed') }}

),

touches as (

    select
        visits.visit_id as touch_id,
        visits.contact_id,
        visits.visited_at as touched_at,
        {{ channel_from_utm('visits.source', 'visits.medium', 'visits.utm_campaign') }} as channel,
        visits.source,
        visits.medium,
        coalesce(visits.utm_campaign, '(none)') as campaign,
        visits.page_path
    from visits
    inner join contacts
        on visits.contact_id = contacts.contact_id

)

select * from touches
