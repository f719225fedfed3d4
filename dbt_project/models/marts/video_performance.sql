-- YouTube per video and day, beside the GA4 sessions and the CRM leads and customers its tagged link brought.
with

video_days as (

    select * from {{ ref('stg_youtube__video_daily') }}

),

videos as (

    select * from {{ ref('stg_youtube__videos') }}

),

-- the description link's utm_campaign, else the video id (the convention the link follows)
video_campaigns as (

    select channel_id, video_id, title, published_at, coalesce(utm_campaign, video_id) as campaign
    from videos

),

sessions as (

    select
        date_day,
        campaign,
        cast(sum(sessions) as bigint) as sessions,
        cast(sum(engaged_sessions) as bigint) as engaged_sessions
    from {{ ref('stg_ga4__sessions_daily') }}
    where lower(source) = 'youtube'
    group by date_day, campaign

),

leads as (

    select
        campaign,
        cast(became_lead_at as date) as lead_date,
        cast(became_customer_at as date) as customer_date
    from {{ ref('leads') }}
    where source = 'youtube'

),

leads_by_day as (

    select campaign, lead_date as date_day, count(*) as leads
    from leads
    where lead_date is not null
    group by campaign, lead_date

),

customers_by_day as (

    select campaign, customer_date as date_day, count(*) as customers
    from leads
    where customer_date is not null
    group by campaign, customer_date

),

keys as (

    select video_days.channel_id, video_days.video_id, video_days.date_day from video_days
    union
    select video_campaigns.channel_id, video_campaigns.video_id, sessions.date_day
    from sessions inner join video_campaigns on video_campaigns.campaign = sessions.campaign
    union
    select video_campaigns.channel_id, video_campaigns.video_id, leads_by_day.date_day
    from leads_by_day inner join video_campaigns on video_campaigns.campaign = leads_by_day.campaign
    union
    select video_campaigns.channel_id, video_campaigns.video_id, customers_by_day.date_day
    from customers_by_day inner join video_campaigns on video_campaigns.campaign = customers_by_day.campaign

)

select
    keys.channel_id,
    keys.video_id,
    video_campaigns.title,
    video_campaigns.published_at,
    keys.date_day,
    coalesce(video_days.views, 0) as views,
    coalesce(video_days.minutes_watched, 0) as minutes_watched,
    {{ safe_divide('video_days.minutes_watched * 60', 'video_days.views') }} as avg_view_duration_s,
    coalesce(video_days.likes, 0) as likes,
    coalesce(video_days.comments, 0) as comments,
    coalesce(video_days.shares, 0) as shares,
    coalesce(video_days.subscribers_gained, 0) as subscribers_gained,
    coalesce(video_days.subscribers_lost, 0) as subscribers_lost,
    coalesce(sessions.sessions, 0) as sessions,
    coalesce(sessions.engaged_sessions, 0) as engaged_sessions,
    coalesce(leads_by_day.leads, 0) as leads,
    coalesce(customers_by_day.customers, 0) as customers,
    {{ safe_divide('sessions.sessions', 'video_days.views') }} as sessions_per_view,
    video_days.video_id is not null as has_analytics
from keys
left join video_days
    on video_days.channel_id = keys.channel_id
    and video_days.video_id = keys.video_id
    and video_days.date_day = keys.date_day
left join video_campaigns
    on video_campaigns.channel_id = keys.channel_id
    and video_campaigns.video_id = keys.video_id
left join sessions
    on sessions.campaign = video_campaigns.campaign
    and sessions.date_day = keys.date_day
left join leads_by_day
    on leads_by_day.campaign = video_campaigns.campaign
    and leads_by_day.date_day = keys.date_day
left join customers_by_day
    on customers_by_day.campaign = video_campaigns.campaign
    and customers_by_day.date_day = keys.date_day
