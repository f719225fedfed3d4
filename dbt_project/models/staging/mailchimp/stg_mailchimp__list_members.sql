-- One row per audience (list) member, as of the last change read.
with

source as (

    select * from {{ source_or_empty('mailchimp', 'list_members', {'list_id': 'varchar', 'id': 'varchar'}) }}

),

renamed as (

    select
        list_id,
        id as member_id,
        lower(nullif({{ json_text('_record', 'email_address') }}, '')) as email_address,
        {{ json_text('_record', 'status') }} as member_status,
        nullif({{ json_text('_record', 'source') }}, '') as signup_source,

        {{ iso_to_utc_timestamp("nullif(" ~ json_text('_record', 'timestamp_signup') ~ ", '')") }} as signed_up_at,
        -- double opt-in: when the member confirmed; NULL while pending
        {{ iso_to_utc_timestamp("nullif(" ~ json_text('_record', 'timestamp_opt') ~ ", '')") }} as opted_in_at,
        {{ iso_to_utc_timestamp("nullif(" ~ json_text('_record', 'last_changed') ~ ", '')") }} as last_changed_at,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
