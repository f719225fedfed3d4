-- One row per VK Ads banner (an ad), with its ad group.
with

source as (

    select * from {{ source_or_empty('vk_ads', 'banners', {'id': 'varchar'}) }}

)

select
    _account_id as cabinet_id,
    id as banner_id,
    _record->>'$.name' as banner_name,
    _record->>'$.status' as banner_status,
    _record->>'$.ad_group_id' as ad_group_id,
    _record as record_json,
    _loaded_at at time zone 'UTC' as loaded_at,
    _batch_id as batch_id
from source
