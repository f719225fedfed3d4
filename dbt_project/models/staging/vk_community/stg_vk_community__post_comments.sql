-- One row per comment on a VK community wall post.
with

source as (

    select * from {{ source_or_empty('vk_community', 'post_comments', {'post_id': 'varchar', 'id': 'varchar'}) }}

)

select
    id as comment_id,
    (_record->>'$.owner_id') || '_' || post_id as post_id,
    _account_id as group_id,
    _record->>'$.from_id' as from_id,
    to_timestamp(cast(_record->>'$.date' as bigint)) at time zone 'UTC' as created_at,
    _record->>'$.text' as text,
    _record as record_json,
    _loaded_at at time zone 'UTC' as loaded_at,
    _batch_id as batch_id
from source
