-- One row per page, metric and day. Graph computes page insights on Pacific time days
-- and stamps each value with the end of its day (end_time = next midnight, Pacific), so
-- the day is the Pacific date of end_time minus one day.
with

source as (

    select * from {{ source_or_empty('facebook_pages', 'page_insights', {'metric': 'varchar', 'end_time': 'timestamptz'}) }}

),

renamed as (

    select
        _account_id as page_id,
        metric,
        cast(
            {{ utc_to_local_timestamp('(end_time at time zone \'UTC\')', "'" ~ var('social_reporting_time_zone') ~ "'") }}
            - {{ days_interval(1) }} as date
        )
            as date_day,
        end_time at time zone 'UTC' as end_at,
        cast({{ json_text('_record', 'value') }} as bigint) as value,
        {{ json_text('_record', 'period') }} as period,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
