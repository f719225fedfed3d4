-- One row per account and run: followers of the Facebook page and the Instagram account
-- as read at the run. Only Instagram accounts answer media_count (we ask the page for
-- fan_count instead), which tells the platforms apart.
with

source as (

    select * from {{ source_or_empty('facebook_pages', 'account_snapshots', {'id': 'varchar', 'snapshot_at': 'timestamptz'}) }}

),

renamed as (

    select
        id as account_id,
        case when {{ json_text('_record', 'media_count') }} is not null then 'instagram' else 'facebook' end as platform,
        {{ json_text('_record', 'name') }} as account_name,
        {{ json_text('_record', 'username') }} as username,
        snapshot_at at time zone 'UTC' as snapshot_at,
        cast(
            {{ utc_to_local_timestamp(
                '(snapshot_at at time zone \'UTC\')', "'" ~ var('social_reporting_time_zone') ~ "'"
            ) }} as date
        )
            as snapshot_date,
        cast({{ json_text('_record', 'followers_count') }} as bigint) as followers_count,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
