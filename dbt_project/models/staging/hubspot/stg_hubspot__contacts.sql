with

source as (

    select * from {{ source_or_empty('hubspot', 'contacts', {'id': 'varchar'}) }}

),

renamed as (

    select
        id as contact_id,
        _account_id as source_account_id,

        {{ hubspot_property('email') }} as email,
        {{ hubspot_property('firstname') }} as first_name,
        {{ hubspot_property('lastname') }} as last_name,
        lower({{ hubspot_property('lifecyclestage') }}) as lifecycle_stage,

        -- original source as HubSpot tracked it
        {{ hubspot_property('hs_analytics_source') }} as analytics_source,
        {{ hubspot_property('hs_analytics_source_data_1') }} as analytics_source_data_1,
        {{ hubspot_property('hs_analytics_source_data_2') }} as analytics_source_data_2,

        -- first-touch UTM tags (custom properties)
        {{ hubspot_property('utm_source') }} as utm_source,
        {{ hubspot_property('utm_medium') }} as utm_medium,
        {{ hubspot_property('utm_campaign') }} as utm_campaign,
        {{ hubspot_property('utm_content') }} as utm_content,

        -- the gclid of a Google Ads click that brought the contact (HubSpot's "Google ad click id")
        {{ hubspot_property('hs_google_click_id') }} as google_click_id,

        -- when the contact entered each lifecycle stage
        {%- for stage in hubspot_lifecycle_stages() %}
            {{ iso_to_utc_timestamp(hubspot_property('hs_lifecyclestage_' ~ stage.hubspot_value ~ '_date')) }}
                as became_{{ stage.name }}_at,
        {%- endfor %}

        {{ iso_to_utc_timestamp("coalesce(" ~ hubspot_property('createdate') ~ ", " ~ json_text('_record', 'createdAt') ~ ")") }}
            as created_at,
        {{ iso_to_utc_timestamp(hubspot_property('lastmodifieddate')) }} as last_modified_at,
        {{ iso_to_utc_timestamp(json_text('_record', 'updatedAt')) }} as updated_at,

        coalesce(cast({{ json_text('_record', 'archived') }} as boolean), false) as is_archived,
        {{ iso_to_utc_timestamp(json_text('_record', 'archivedAt')) }} as archived_at,

        -- every property HubSpot sent, including ones added to the portal later:
        -- read a new one with properties_json->>'$.<name>', no model change needed
        {{ json_value('_record', 'properties') }} as properties_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
