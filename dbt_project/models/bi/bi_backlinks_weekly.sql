-- bi.backlinks_weekly: the columns dashboards read from marts.backlinks_weekly, by name.
-- Add columns freely; removing or retyping one breaks dashboards (tests/test_bi_schema.py).
{{ config(alias='backlinks_weekly') }}

select
    host_id,
    week_start_date,
    snapshot_date,
    referring_domains,
    snapshot_links,
    total_links,
    new_links,
    lost_links
from {{ ref('backlinks_weekly') }}
