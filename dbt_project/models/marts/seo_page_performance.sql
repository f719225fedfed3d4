-- Search Console per property, Pacific day and page, beside GA4's Google organic sessions landing on it.
with

pages as (

    select * from {{ ref('stg_search_console__page_daily') }}

),

query_rows as (

    select
        site_url,
        date_day,
        page_url,
        cast(sum(clicks) as bigint) as query_clicks,
        count(*) as queries,
        count(*) filter (where avg_position <= 10) as top_10_queries
    from {{ ref('seo_performance') }}
    group by site_url, date_day, page_url

),

sites as (

    select * from {{ ref('stg_search_console__site_daily') }}

),

site_queries as (

    select site_url, date_day, cast(sum(clicks) as bigint) as query_clicks
    from {{ ref('stg_search_console__query_daily') }}
    group by site_url, date_day

),

-- Search Console counts Google only: GA4's sessions from google / organic
organic_sessions as (

    select
        date_day,
        landing_page as page_path,
        cast(sum(sessions) as bigint) as organic_sessions,
        cast(sum(engaged_sessions) as bigint) as organic_engaged_sessions,
        cast(sum(key_events) as bigint) as organic_key_events
    from {{ ref('stg_ga4__sessions_daily') }}
    where lower(source) = 'google' and lower(medium) = 'organic'
    group by date_day, landing_page

)

select
    pages.site_url,
    pages.date_day,
    pages.page_path,
    pages.page_url,
    pages.clicks,
    pages.impressions,
    {{ safe_divide('pages.clicks', 'pages.impressions') }} as ctr,
    pages.avg_position,
    coalesce(query_rows.query_clicks, 0) as query_clicks,
    pages.clicks - coalesce(query_rows.query_clicks, 0) as anonymised_clicks,
    {{ safe_divide('pages.clicks - coalesce(query_rows.query_clicks, 0)', 'pages.clicks') }} as anonymised_click_share,
    {{ safe_divide('sites.clicks - coalesce(site_queries.query_clicks, 0)', 'sites.clicks') }} as site_anonymised_click_share,
    coalesce(query_rows.queries, 0) as queries,
    coalesce(query_rows.top_10_queries, 0) as top_10_queries,
    coalesce(organic_sessions.organic_sessions, 0) as organic_sessions,
    coalesce(organic_sessions.organic_engaged_sessions, 0) as organic_engaged_sessions,
    coalesce(organic_sessions.organic_key_events, 0) as organic_leads,
    {{ safe_divide('organic_sessions.organic_sessions', 'pages.clicks') }} as sessions_per_click,
    pages.data_state = 'final' as is_final
from pages
left join query_rows
    on query_rows.site_url = pages.site_url
    and query_rows.date_day = pages.date_day
    and query_rows.page_url = pages.page_url
left join sites
    on sites.site_url = pages.site_url
    and sites.date_day = pages.date_day
left join site_queries
    on site_queries.site_url = pages.site_url
    and site_queries.date_day = pages.date_day
left join organic_sessions
    on organic_sessions.date_day = pages.date_day
    and organic_sessions.page_path = pages.page_path
