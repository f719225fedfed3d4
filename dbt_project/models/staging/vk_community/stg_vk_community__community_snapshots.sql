-- One row per VK community and run: its members as read at the run (groups.getById members_count).
with

source as (

    select * from {{ source_or_empty('vk_community', 'community_snapshots', {'id': 'varchar', 'snapshot_at': 'timestamptz'}) }}

)

select
    id as group_id,
    _record->>'$.name' as community_name,
    _record->>'$.screen_name' as screen_name,
    snapshot_at at time zone 'UTC' as snapshot_at,
    cast({{ utc_to_local_timestamp('(snapshot_at at time zone \'UTC\')', "'" ~ var('social_reporting_time_zone') ~ "'") }} as date)
        as snapshot_date,
    cast(_record->>'$.members_count' as bigint) as members_count,
    _record as record_json,
    _loaded_at at time zone 'UTC' as loaded_at,
    _batch_id as batch_id
from source
