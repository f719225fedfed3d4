-- bi.seo_performance: the columns dashboards read from marts.seo_performance, by name.
-- Add columns freely; removing or retyping one breaks dashboards (tests/test_bi_schema.py).
{{ config(alias='seo_performance') }}

select
    site_url,
    date_day,
    page_path,
    page_url,
    search_query,
    clicks,
    impressions,
    ctr,
    avg_position,
    is_final
from {{ ref('seo_performance') }}
