-- Organic social per channel (facebook, instagram) and day of var('social_reporting_time_zone'),
-- the zone Graph computes page insights in. Two bases, each the one the platform serves:
--   * posts_published, reach, likes, comments, shares, saves: the posts and media published
--     that day, their counters as last read (a post's numbers stay on its publishing day);
--   * impressions and engagements: Facebook's daily page insights (page_media_view,
--     page_post_engagements: what happened that day on the page), Instagram's views and
--     likes + comments + shares + saves of the media published that day (Graph gives no
--     daily Instagram series that we read);
--   * followers: Facebook's page_follows at the day's end, else (the current, unfinished day)
--     the page's followers_count read that day; Instagram's followers_count read that day.
-- engagement_rate = engagements / impressions of the same row, so both sides share a basis.
with

posts as (

    select * from {{ ref('int_social_posts_unioned') }}

),

page_days as (

    select
        'facebook' as channel,
        date_day,
        sum(value) filter (where metric = 'page_media_view') as impressions,
        sum(value) filter (where metric = 'page_post_engagements') as engagements,
        sum(value) filter (where metric = 'page_follows') as followers
    from {{ ref('stg_facebook_pages__page_insights') }}
    group by date_day

),

snapshots as (

    -- the last snapshot of each day (a day may be re-run at another interval end)
    select
        platform as channel,
        snapshot_date as date_day,
        sum(followers_count) as followers
    from (
        select
            *,
            row_number() over (partition by account_id, snapshot_date order by snapshot_at desc) as newest_first
        from {{ ref('stg_facebook_pages__account_snapshots') }}
    ) as last_of_day
    where newest_first = 1
    group by platform, snapshot_date

),

published as (

    select
        platform as channel,
        published_date as date_day,
        count(*) as posts_published,
        sum(views) as views,
        sum(reach) as reach,
        sum(likes) as likes,
        sum(comments) as comments,
        sum(shares) as shares,
        sum(saves) as saves,
        sum(engagements) as engagements
    from posts
    group by platform, published_date

),

days as (

    select
        channel,
        date_day
    from page_days
    union
    select
        channel,
        date_day
    from published
    union
    select
        channel,
        date_day
    from snapshots

),

joined as (

    select
        days.channel,
        days.date_day,
        cast(coalesce(published.posts_published, 0) as bigint) as posts_published,
        -- 0 on a day nothing was published; NULL on a day whose media have no insights (never a made-up 0)
        cast(case
            when days.channel = 'facebook' then page_days.impressions
            when published.date_day is null then 0 else published.views
        end as bigint) as impressions,
        cast(
            case when days.channel = 'facebook' then null when published.date_day is null then 0 else published.reach end
            as bigint
        ) as reach,
        cast(coalesce(published.likes, 0) as bigint) as likes,
        cast(coalesce(published.comments, 0) as bigint) as comments,
        cast(case when published.date_day is null then 0 else published.shares end as bigint) as shares,
        cast(
            case when days.channel = 'facebook' then null when published.date_day is null then 0 else published.saves end
            as bigint
        ) as saves,
        cast(
            case when days.channel = 'facebook' then page_days.engagements else coalesce(published.engagements, 0) end as bigint
        ) as engagements,
        cast(coalesce(page_days.followers, snapshots.followers) as bigint) as followers
    from days
    left join page_days on days.channel = page_days.channel and days.date_day = page_days.date_day
    left join published on days.channel = published.channel and days.date_day = published.date_day
    left join snapshots on days.channel = snapshots.channel and days.date_day = snapshots.date_day

)

select
    joined.*,
    {{ safe_divide('joined.engagements', 'joined.impressions') }} as engagement_rate,
    -- against the day before only: with no followers for that day the change is unknown
    joined.followers - previous_day.followers as net_follower_change
from joined
left join joined as previous_day
    on
        joined.channel = previous_day.channel
        and previous_day.date_day = joined.date_day - 1
