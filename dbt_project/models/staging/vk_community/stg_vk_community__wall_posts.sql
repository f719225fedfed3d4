-- One row per VK community wall post, its counters as last read. A post is named as VK names it
-- in links: <owner_id>_<id>, the owner being the community (-group id).
with

source as (

    select * from {{ source_or_empty('vk_community', 'wall_posts', {'id': 'varchar'}) }}

)

select
    (_record->>'$.owner_id') || '_' || id as post_id,
    _account_id as group_id,
    _record->>'$.post_type' as post_type,
    'https://vk.com/wall' || (_record->>'$.owner_id') || '_' || id as permalink,
    _record->>'$.text' as text,
    to_timestamp(cast(_record->>'$.date' as bigint)) at time zone 'UTC' as published_at,
    cast(_record->>'$.views.count' as bigint) as views,
    cast(coalesce(_record->>'$.likes.count', '0') as bigint) as likes,
    cast(coalesce(_record->>'$.comments.count', '0') as bigint) as comments,
    cast(coalesce(_record->>'$.reposts.count', '0') as bigint) as reposts,
    _record as record_json,
    _loaded_at at time zone 'UTC' as loaded_at,
    _batch_id as batch_id
from source
