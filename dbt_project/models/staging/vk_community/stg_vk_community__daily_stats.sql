-- One row per VK community and day (stats.get, interval day): views and visitors of the community,
-- its reach, and the likes, comments and reposts (copies) of that day. Days are the community's
-- own (Moscow), as VK computes them.
with

source as (

    select * from {{ source_or_empty('vk_community', 'daily_stats', {'date': 'date'}) }}

)

select
    _account_id as group_id,
    date as date_day,
    cast(_record->>'$.visitors.views' as bigint) as views,
    cast(_record->>'$.visitors.visitors' as bigint) as visitors,
    cast(_record->>'$.reach.reach' as bigint) as reach,
    cast(_record->>'$.reach.reach_subscribers' as bigint) as reach_subscribers,
    cast(coalesce(_record->>'$.activity.likes', '0') as bigint) as likes,
    cast(coalesce(_record->>'$.activity.comments', '0') as bigint) as comments,
    cast(coalesce(_record->>'$.activity.copies', '0') as bigint) as reposts,
    cast(coalesce(_record->>'$.activity.subscribed', '0') as bigint) as subscribed,
    cast(coalesce(_record->>'$.activity.unsubscribed', '0') as bigint) as unsubscribed,
    _record as record_json,
    _loaded_at at time zone 'UTC' as loaded_at,
    _batch_id as batch_id
from source
