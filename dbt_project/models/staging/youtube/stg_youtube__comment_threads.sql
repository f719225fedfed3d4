-- One row per top-level comment on the channel's videos (commentThreads.list).
with

source as (

    select * from {{ source_or_empty('youtube', 'comment_threads', {'comment_thread_id': 'varchar'}) }}

),

renamed as (

    select
        _account_id as channel_id,
        comment_thread_id,
        _record->>'$.snippet.videoId' as video_id,
        _record->>'$.snippet.topLevelComment.snippet.textOriginal' as text,
        _record->>'$.snippet.topLevelComment.snippet.authorDisplayName' as author_name,
        cast(_record->>'$.snippet.topLevelComment.snippet.likeCount' as bigint) as likes,
        cast(_record->>'$.snippet.totalReplyCount' as bigint) as replies,
        cast(_record->>'$.snippet.topLevelComment.snippet.publishedAt' as timestamptz) at time zone 'UTC' as published_at,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
