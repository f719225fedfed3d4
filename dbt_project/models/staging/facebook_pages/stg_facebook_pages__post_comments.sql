-- One row per comment on a page post (Facebook Comment: id, message, created_time).
with

source as (

    select * from {{ source_or_empty('facebook_pages', 'post_comments', {'id': 'varchar'}) }}

),

renamed as (

    select
        id as comment_id,
        {{ json_text('_record', 'parent_id') }} as post_id,
        _account_id as page_id,
        {{ json_text('_record', 'message') }} as message,
        {{ iso_to_utc_timestamp(json_text('_record', 'created_time')) }} as created_at,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
