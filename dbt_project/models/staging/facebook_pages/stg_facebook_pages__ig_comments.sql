-- One row per comment on an Instagram media (IGComment: id, text, timestamp, username, like_count).
with

source as (

    select * from {{ source_or_empty('facebook_pages', 'ig_comments', {'id': 'varchar'}) }}

),

renamed as (

    select
        id as comment_id,
        {{ json_text('_record', 'parent_id') }} as media_id,
        _account_id as ig_user_id,
        {{ json_text('_record', 'text') }} as message,
        {{ json_text('_record', 'username') }} as username,
        cast({{ json_text('_record', 'like_count') }} as bigint) as like_count,
        {{ iso_to_utc_timestamp(json_text('_record', 'timestamp')) }} as created_at,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
