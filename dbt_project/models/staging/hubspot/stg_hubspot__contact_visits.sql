-- One row per page visit of a known contact: HubSpot's e_visited_page events
-- (GET /events/v3/events), merged on the event id. Property values are strings;
-- '' counts as missing. Visits without UTM tags get GA4-style source / medium: an
-- auto-tagged Google Ads click (gclid in the page URL) is google / cpc, as GA4 reports it;
-- else from the referrer (search engine -> <engine> / organic, none -> (direct) / (none),
-- another site -> <host> / referral), so one set of channel rules serves every touch.
with

source as (

    select * from {{ source_or_empty('hubspot', 'contact_visits', {'id': 'varchar'}) }}

),

renamed as (

    select
        id as visit_id,
        _account_id as source_account_id,
        {{ json_text('_record', 'objectId') }} as contact_id,
        {{ json_text('_record', 'eventType') }} as event_type,
        {{ iso_to_utc_timestamp(json_text('_record', 'occurredAt')) }} as visited_at,

        nullif({{ json_text('_record', 'properties.hs_url') }}, '') as page_url,
        coalesce(
            nullif({{ json_text('_record', 'properties.hs_page_path') }}, ''),
            nullif({{ regex_extract(json_text('_record', 'properties.hs_url'), "'^[a-z]+://[^/?#]+([^?#]*)'", 1) }}, '')
        ) as page_path,
        nullif({{ json_text('_record', 'properties.hs_referrer') }}, '') as referrer,
        lower(
            nullif(
                {{ regex_extract(json_text('_record', 'properties.hs_referrer'), "'^[a-z]+://(?:www\.|l\.)?([^/:?#]+)'", 1) }}, ''
            )
        )
            as referrer_host,

        nullif({{ json_text('_record', 'properties.hs_utm_source') }}, '') as utm_source,
        nullif({{ json_text('_record', 'properties.hs_utm_medium') }}, '') as utm_medium,
        nullif({{ json_text('_record', 'properties.hs_utm_campaign') }}, '') as utm_campaign,
        nullif({{ json_text('_record', 'properties.hs_utm_content') }}, '') as utm_content,
        nullif({{ json_text('_record', 'properties.hs_utm_term') }}, '') as utm_term,

        -- every property HubSpot sent, including ones it adds later
        {{ json_value('_record', 'properties') }} as properties_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

),

with_source_medium as (

    select
        *,
        case
            when utm_source is not null or utm_medium is not null then lower(coalesce(utm_source, '(none)'))
            when {{ regex_matches('page_url', "'[?&]gclid='") }} then 'google'
            when referrer_host is null then '(direct)'
            when {{ regex_matches('referrer_host', "'(^|\.)(google|bing|duckduckgo|yahoo|yandex|baidu|ecosia)\.'") }}
                then {{ regex_extract('referrer_host', "'(^|\.)(google|bing|duckduckgo|yahoo|yandex|baidu|ecosia)\.'", 2) }}
            else referrer_host
        end as source,
        case
            when utm_source is not null or utm_medium is not null then lower(coalesce(utm_medium, '(none)'))
            when {{ regex_matches('page_url', "'[?&]gclid='") }} then 'cpc'
            when referrer_host is null then '(none)'
            when
                {{ regex_matches('referrer_host', "'(^|\.)(google|bing|duckduckgo|yahoo|yandex|baidu|ecosia)\.'") }}
                then 'organic'
            else 'referral'
        end as medium
    from renamed

)

select * from with_source_medium
