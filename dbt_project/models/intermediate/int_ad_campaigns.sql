-- One row per ad campaign with delivery, and the channel, source and medium its spend is
-- reported under: those of the sessions and contacts it bought (macros/ad_platforms.sql
-- matches them), the pair with the most sessions (then contacts) when its clicks arrive
-- under several (a Meta campaign on Facebook and Instagram placements); a campaign nothing
-- was matched to takes its platform's default channel and '(none)'. So spend lands on the
-- rows of what it bought whatever the tags, and channel_performance_daily's cost per lead,
-- CAC and ROAS compare like with like. A campaign with clicks and no match fails the test
-- assert_every_campaign_with_clicks_matches_what_it_bought.
with

campaigns as (

    select distinct
        platform,
        ad_account_id,
        campaign_id,
        campaign_name
    from {{ ref('int_ad_campaign_keys') }}

),

platforms as (

    {{ ad_platforms_rows() }}

),

matched_sessions as (

    select
        ad_platform,
        ad_account_id,
        ad_campaign_id,
        channel,
        source,
        medium,
        sum(sessions) as sessions,
        0 as contacts
    from {{ ref('int_sessions_attributed') }}
    where ad_platform is not null
    group by ad_platform, ad_account_id, ad_campaign_id, channel, source, medium

),

matched_contacts as (

    select
        ad_platform,
        ad_account_id,
        ad_campaign_id,
        channel,
        source,
        medium,
        0 as sessions,
        count(*) as contacts
    from {{ ref('int_contacts_attributed') }}
    where ad_platform is not null
    group by ad_platform, ad_account_id, ad_campaign_id, channel, source, medium

),

matched as (

    select
        ad_platform,
        ad_account_id,
        ad_campaign_id,
        channel,
        source,
        medium,
        sum(sessions) as sessions,
        sum(contacts) as contacts
    from (
        select * from matched_sessions
        union all
        select * from matched_contacts
    ) as outcomes
    group by ad_platform, ad_account_id, ad_campaign_id, channel, source, medium

),

ranked as (

    select
        *,
        sum(sessions) over (partition by ad_platform, ad_account_id, ad_campaign_id) as campaign_sessions,
        sum(contacts) over (partition by ad_platform, ad_account_id, ad_campaign_id) as campaign_contacts,
        row_number() over (
            partition by ad_platform, ad_account_id, ad_campaign_id
            order by sessions desc, contacts desc, channel asc, source asc, medium asc
        ) as rank_in_campaign
    from matched

),

final as (

    select
        campaigns.platform,
        campaigns.ad_account_id,
        campaigns.campaign_id,
        campaigns.campaign_name,
        coalesce(ranked.channel, platforms.default_channel, 'other') as channel,
        coalesce(ranked.source, '(none)') as source,
        coalesce(ranked.medium, '(none)') as medium,
        cast(coalesce(ranked.campaign_sessions, 0) as bigint) as matched_sessions,
        cast(coalesce(ranked.campaign_contacts, 0) as bigint) as matched_contacts
    from campaigns
    left join ranked
        on
            campaigns.platform = ranked.ad_platform
            and campaigns.ad_account_id is not distinct from ranked.ad_account_id
            and campaigns.campaign_id = ranked.ad_campaign_id
            and ranked.rank_in_campaign = 1
    left join platforms
        on campaigns.platform = platforms.platform

)

select * from final
