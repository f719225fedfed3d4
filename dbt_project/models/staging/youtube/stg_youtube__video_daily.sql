-- One row per channel, video and Pacific day (YouTube Analytics).
with

source as (

    select * from {{ source_or_empty('youtube', 'video_daily', {'video': 'varchar', 'day': 'date'}) }}

),

renamed as (

    select
        _account_id as channel_id,
        video as video_id,
        day as date_day,

        cast({{ json_text('_record', 'views') }} as bigint) as views,
        cast({{ json_text('_record', 'estimatedMinutesWatched') }} as bigint) as minutes_watched,
        cast({{ json_text('_record', 'averageViewDuration') }} as bigint) as avg_view_duration_s,
        cast({{ json_text('_record', 'likes') }} as bigint) as likes,
        cast({{ json_text('_record', 'comments') }} as bigint) as comments,
        cast({{ json_text('_record', 'shares') }} as bigint) as shares,
        cast({{ json_text('_record', 'subscribersGained') }} as bigint) as subscribers_gained,
        cast({{ json_text('_record', 'subscribersLost') }} as bigint) as subscribers_lost,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
