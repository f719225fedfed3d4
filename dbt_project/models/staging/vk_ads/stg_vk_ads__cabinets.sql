-- One row per VK Ads cabinet: its user and currency (user.json).
with

source as (

    select * from {{ source_or_empty('vk_ads', 'cabinet', {'id': 'varchar'}) }}

)

select
    _account_id as cabinet_id,
    id as user_id,
    _record->>'$.username' as username,
    upper(_record->>'$.currency') as currency,
    _record as record_json,
    _loaded_at at time zone 'UTC' as loaded_at,
    _batch_id as batch_id
from source
