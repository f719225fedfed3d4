-- One row per sent Mailchimp campaign. Mailchimp sends '' for unset text and times.
with

source as (

    select * from {{ source_or_empty('mailchimp', 'campaigns', {'id': 'varchar'}) }}

),

renamed as (

    select
        id as campaign_id,
        cast({{ json_text('_record', 'web_id') }} as bigint) as campaign_web_id,
        {{ json_text('_record', 'type') }} as campaign_type,
        {{ json_text('_record', 'status') }} as campaign_status,
        nullif({{ json_text('_record', 'recipients.list_id') }}, '') as list_id,
        nullif({{ json_text('_record', 'recipients.list_name') }}, '') as list_name,
        nullif({{ json_text('_record', 'settings.title') }}, '') as campaign_title,
        nullif({{ json_text('_record', 'settings.subject_line') }}, '') as subject_line,
        nullif({{ json_text('_record', 'settings.preview_text') }}, '') as preview_text,
        nullif({{ json_text('_record', 'settings.from_name') }}, '') as from_name,
        -- tracking.google_analytics: the utm_campaign the campaign's links carry
        nullif({{ json_text('_record', 'tracking.google_analytics') }}, '') as tracking_name,
        cast({{ json_text('_record', 'emails_sent') }} as bigint) as emails_sent,

        {{ iso_to_utc_timestamp("nullif(" ~ json_text('_record', 'create_time') ~ ", '')") }} as created_at,
        {{ iso_to_utc_timestamp("nullif(" ~ json_text('_record', 'send_time') ~ ", '')") }} as sent_at,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
