-- One row per property, day and page path (GA4 runReport, page scope).
with

source as (

    select * from {{ source_or_empty('ga4', 'pages_daily', {'date': 'date', 'pagePath': 'varchar'}) }}

),

renamed as (

    select
        _account_id as property_id,
        date as date_day,
        {{ adapter.quote('pagePath') }} as page_path,

        cast({{ json_text('_record', 'screenPageViews') }} as bigint) as page_views,
        -- sessions in which the page was viewed (unique page views)
        cast({{ json_text('_record', 'sessions') }} as bigint) as sessions,
        -- a DECIMAL, so sums of it do not depend on the order rows are added in
        cast({{ json_text('_record', 'userEngagementDuration') }} as decimal(38, 6)) as engagement_duration_s,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
