-- One row per action (open, click, bounce) of one recipient of one campaign.
with

source as (

    select * from {{ source_or_empty('mailchimp', 'email_activity', {
        'campaign_id': 'varchar', 'email_id': 'varchar', 'action': 'varchar', 'timestamp': 'varchar', 'url': 'varchar'}) }}

),

renamed as (

    select
        campaign_id,
        nullif({{ json_text('_record', 'list_id') }}, '') as list_id,
        email_id as member_id,
        lower(nullif({{ json_text('_record', 'email_address') }}, '')) as email_address,
        action,
        {{ iso_to_utc_timestamp(adapter.quote('timestamp')) }} as occurred_at,
        -- clicks: the link followed (with its UTM tags); bounces: hard or soft
        nullif({{ json_text('_record', 'url') }}, '') as url,
        lower(nullif({{ json_text('_record', 'type') }}, '')) as bounce_type,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
