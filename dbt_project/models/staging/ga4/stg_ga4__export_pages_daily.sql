-- One row per property, day and page path from GA4's BigQuery export (the ga4_export stream):
-- page_view events and exits (sessions whose last page_view was the page). The Data API has no
-- exits; this is where content_performance takes them from. Empty when no export is configured.
with

source as (

    select * from {{ source_or_empty('ga4', 'ga4_export', {'date': 'date', 'page_path': 'varchar'}) }}

),

renamed as (

    select
        _account_id as property_id,
        date as date_day,
        page_path,

        cast({{ json_text('_record', 'page_views') }} as bigint) as page_views,
        cast({{ json_text('_record', 'exits') }} as bigint) as exits,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
