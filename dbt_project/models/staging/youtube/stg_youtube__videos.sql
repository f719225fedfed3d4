-- One row per video of the channel's uploads (YouTube Data API videos.list), as last read.
with

source as (

    select * from {{ source_or_empty('youtube', 'videos', {'video_id': 'varchar'}) }}

),

renamed as (

    select
        _account_id as channel_id,
        video_id,
        _record->>'$.snippet.title' as title,
        cast(_record->>'$.snippet.publishedAt' as timestamptz) at time zone 'UTC' as published_at,
        _record->>'$.snippet.description' as description,
        -- the utm_campaign of the link in the description: how the video's visits are found in GA4
        regexp_extract(_record->>'$.snippet.description', 'utm_campaign=([^&\s]+)', 1) as utm_campaign,
        cast(_record->>'$.statistics.viewCount' as bigint) as lifetime_views,
        cast(_record->>'$.statistics.likeCount' as bigint) as lifetime_likes,
        cast(_record->>'$.statistics.commentCount' as bigint) as lifetime_comments,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
