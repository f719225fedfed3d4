-- One row per VK Ads ad group, with its ad plan.
with

source as (

    select * from {{ source_or_empty('vk_ads', 'ad_groups', {'id': 'varchar'}) }}

)

select
    _account_id as cabinet_id,
    id as ad_group_id,
    _record->>'$.name' as ad_group_name,
    _record->>'$.status' as ad_group_status,
    _record->>'$.ad_plan_id' as ad_plan_id,
    _record as record_json,
    _loaded_at at time zone 'UTC' as loaded_at,
    _batch_id as batch_id
from source
