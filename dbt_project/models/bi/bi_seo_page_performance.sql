-- bi.seo_page_performance: the columns dashboards read from marts.seo_page_performance, by name.
-- Add columns freely; removing or retyping one breaks dashboards (tests/test_bi_schema.py).
{{ config(alias='seo_page_performance') }}

select
    site_url,
    date_day,
    page_path,
    page_url,
    clicks,
    impressions,
    ctr,
    avg_position,
    query_clicks,
    anonymised_clicks,
    anonymised_click_share,
    site_anonymised_click_share,
    queries,
    top_10_queries,
    organic_sessions,
    organic_engaged_sessions,
    organic_leads,
    sessions_per_click,
    is_final
from {{ ref('seo_page_performance') }}
