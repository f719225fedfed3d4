-- One row per Search Console property, Pacific day and page: anonymised queries included.
with

source as (

    select * from {{ source_or_empty('search_console', 'search_analytics_by_page', {'date': 'date', 'page': 'varchar'}) }}

),

renamed as (

    select
        _account_id as site_url,
        date as date_day,
        page as page_url,
        coalesce(nullif(regexp_replace(regexp_replace(page, '^[A-Za-z]+://[^/]+', ''), '[?#].*$', ''), ''), '/') as page_path,

        cast(round(cast(_record->>'$.clicks' as double)) as bigint) as clicks,
        cast(round(cast(_record->>'$.impressions' as double)) as bigint) as impressions,
        cast(_record->>'$.ctr' as double) as ctr,
        cast(_record->>'$.position' as double) as avg_position,
        _record->>'$.data_state' as data_state,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
