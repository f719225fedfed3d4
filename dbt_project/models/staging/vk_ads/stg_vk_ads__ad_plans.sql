-- One row per VK Ads ad plan (what the cabinet calls a campaign).
with

source as (

    select * from {{ source_or_empty('vk_ads', 'ad_plans', {'id': 'varchar'}) }}

)

select
    _account_id as cabinet_id,
    id as ad_plan_id,
    _record->>'$.name' as ad_plan_name,
    _record->>'$.status' as ad_plan_status,
    _record as record_json,
    _loaded_at at time zone 'UTC' as loaded_at,
    _batch_id as batch_id
from source
