-- One row per Facebook page post and Instagram media: its counters as last read, the
-- comments extracted, and what its tagged link brought to the website and the CRM.
-- Every post links with utm_source = facebook | instagram, utm_medium = social and
-- utm_campaign = the post's Graph id, so sessions and contacts name their post.
with

posts as (

    select * from {{ ref('int_social_posts_unioned') }}

),

sessions as (

    select
        source,
        campaign,
        sum(sessions) as sessions
    from {{ ref('int_sessions_attributed') }}
    where channel = 'organic_social'
    group by source, campaign

),

contacts as (

    select
        source,
        campaign,
        count(*) filter (where became_lead_at is not null) as leads,
        count(*) filter (where became_customer_at is not null) as customers
    from {{ ref('int_contacts_attributed') }}
    where channel = 'organic_social'
    group by source, campaign

),

revenue as (

    select
        source,
        campaign,
        sum(amount_in_reporting_currency) as won_revenue
    from {{ ref('int_deals_attributed') }}
    where channel = 'organic_social' and is_closed_won
    group by source, campaign

)

select
    posts.post_id,
    posts.platform,
    posts.account_id,
    posts.post_type,
    posts.permalink,
    posts.text,
    posts.published_at,
    posts.published_date,
    posts.views,
    posts.reach,
    posts.likes,
    posts.comments,
    posts.shares,
    posts.saves,
    posts.engagements,
    {{ safe_divide('posts.engagements', 'posts.reach') }} as engagement_rate,
    posts.comments_extracted,
    cast(coalesce(sessions.sessions, 0) as bigint) as sessions,
    cast(coalesce(contacts.leads, 0) as bigint) as leads,
    cast(coalesce(contacts.customers, 0) as bigint) as customers,
    cast(coalesce(revenue.won_revenue, 0) as {{ money_type() }}) as won_revenue,
    {{ safe_divide('coalesce(contacts.leads, 0)', 'sessions.sessions') }} as session_to_lead_rate
from posts
left join sessions on posts.platform = sessions.source and posts.post_id = sessions.campaign
left join contacts on posts.platform = contacts.source and posts.post_id = contacts.campaign
left join revenue on posts.platform = revenue.source and posts.post_id = revenue.campaign
