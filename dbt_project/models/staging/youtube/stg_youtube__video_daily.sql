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

        cast(_record->>'$.views' as bigint) as views,
        cast(_record->>'$.estimatedMinutesWatched' as bigint) as minutes_watched,
        cast(_record->>'$.averageViewDuration' as bigint) as avg_view_duration_s,
        cast(_record->>'$.likes' as bigint) as likes,
        cast(_record->>'$.comments' as bigint) as comments,
        cast(_record->>'$.shares' as bigint) as shares,
        cast(_record->>'$.subscribersGained' as bigint) as subscribers_gained,
        cast(_record->>'$.subscribersLost' as bigint) as subscribers_lost,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
