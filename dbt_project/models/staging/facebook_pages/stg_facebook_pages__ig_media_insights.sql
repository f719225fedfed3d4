-- One row per Instagram media and lifetime metric (views, reach, comments, shares, saved, likes).
with

source as (

    select * from {{ source_or_empty('facebook_pages', 'ig_media_insights', {'media_id': 'varchar', 'metric': 'varchar'}) }}

),

renamed as (

    select
        media_id,
        _account_id as ig_user_id,
        metric,
        cast({{ json_text('_record', 'value') }} as bigint) as value,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
