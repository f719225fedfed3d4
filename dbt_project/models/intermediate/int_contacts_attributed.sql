-- One row per live (not archived) contact with its first-touch attribution:
-- the UTM tags when it has any, else HubSpot's original source.
with

contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}
    where not is_archived

),

touch_points as (

    select
        *,
        utm_source is not null or utm_medium is not null as has_utm
    from contacts

),

attributed as (

    select
        contact_id,

        case
            when has_utm then {{ channel_from_utm('utm_source', 'utm_medium') }}
            else {{ channel_from_hubspot_source('analytics_source') }}
        end as channel,
        case
            when has_utm then coalesce(lower(utm_source), '(none)')
            else coalesce(lower(analytics_source), '(none)')
        end as source,
        case when has_utm then coalesce(lower(utm_medium), '(none)') else '(none)' end as medium,
        case when has_utm then coalesce(utm_campaign, '(none)') else '(none)' end as campaign,
        -- ad clicks put the ad id here, which ties a contact to one ad account (and its time zone)
        case when has_utm then coalesce(utm_content, '(none)') else '(none)' end as content,
        has_utm,

        lifecycle_stage,
        created_at,
        {%- for stage in hubspot_lifecycle_stages() %}
        became_{{ stage.name }}_at,
        {%- endfor %}
        updated_at,
        properties_json

    from touch_points

)

select * from attributed
