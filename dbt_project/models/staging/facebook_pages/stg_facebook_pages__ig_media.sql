-- One row per Instagram media (post, carousel or reel), counters as last read.
with

source as (

    select * from {{ source_or_empty('facebook_pages', 'ig_media', {'id': 'varchar'}) }}

),

renamed as (

    select
        id as media_id,
        _account_id as ig_user_id,
        {{ json_text('_record', 'caption') }} as caption,
        {{ json_text('_record', 'media_type') }} as media_type,
        {{ json_text('_record', 'permalink') }} as permalink,
        {{ iso_to_utc_timestamp(json_text('_record', 'timestamp')) }} as published_at,
        cast({{ json_text('_record', 'like_count') }} as bigint) as like_count,
        cast({{ json_text('_record', 'comments_count') }} as bigint) as comments_count,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
