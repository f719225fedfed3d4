-- Facebook page posts and Instagram media in one shape, one row per post / media, their
-- counters as last read. Facebook reactions count as likes; Facebook has no saves and we
-- read no Facebook post insights (Graph removed post impressions and unique impressions in
-- 2025), so its views and reach are NULL. Instagram views, reach, shares and saves come
-- from the media's lifetime insights: NULL for a media Graph has no insights for (posted before
-- the account became a business account, Graph error 2108006; or not reported yet), never 0.
with

posts as (

    select * from {{ ref('stg_facebook_pages__page_posts') }}

),

media as (

    select * from {{ ref('stg_facebook_pages__ig_media') }}

),

media_insights as (

    select
        media_id,
        max(value) filter (where metric = 'views') as views,
        max(value) filter (where metric = 'reach') as reach,
        max(value) filter (where metric = 'shares') as shares,
        max(value) filter (where metric = 'saved') as saves
    from {{ ref('stg_facebook_pages__ig_media_insights') }}
    group by media_id

),

comments_extracted as (

    select
        post_id,
        count(*) as comments_extracted
    from {{ ref('stg_facebook_pages__post_comments') }}
    group by post_id
    union all
    select
        media_id as post_id,
        count(*) as comments_extracted
    from {{ ref('stg_facebook_pages__ig_comments') }}
    group by media_id

),

unioned as (

    select
        post_id,
        'facebook' as platform,
        page_id as account_id,
        status_type as post_type,
        permalink_url as permalink,
        message as text,
        published_at,
        cast(null as bigint) as views,
        cast(null as bigint) as reach,
        reactions as likes,
        comments,
        shares,
        cast(null as bigint) as saves
    from posts

    union all

    select
        media.media_id as post_id,
        'instagram' as platform,
        media.ig_user_id as account_id,
        media.media_type as post_type,
        media.permalink,
        media.caption as text,
        media.published_at,
        media_insights.views,
        media_insights.reach,
        media.like_count as likes,
        media.comments_count as comments,
        media_insights.shares,
        media_insights.saves
    from media
    left join media_insights on media.media_id = media_insights.media_id

)

select
    unioned.*,
    cast({{ utc_to_local_timestamp('unioned.published_at', "'" ~ var('social_reporting_time_zone') ~ "'") }} as date)
        as published_date,
    -- the counters the platform reported (a media without insights: its likes and comments)
    unioned.likes + unioned.comments + coalesce(unioned.shares, 0) + coalesce(unioned.saves, 0) as engagements,
    coalesce(comments_extracted.comments_extracted, 0) as comments_extracted
from unioned
left join comments_extracted on unioned.post_id = comments_extracted.post_id
