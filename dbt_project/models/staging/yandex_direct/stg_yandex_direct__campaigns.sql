-- One row per Yandex Direct campaign, with the currency its money is in and the time zone its
-- report days are in (campaigns.get).
with

source as (

    select * from {{ source_or_empty('yandex_direct', 'campaigns', {'campaign_id': 'varchar'}) }}

),

renamed as (

    select
        campaign_id,
        _account_id as client_login,
        _record->>'$.Name' as campaign_name,
        upper(_record->>'$.Currency') as currency,
        _record->>'$.TimeZone' as time_zone,
        _record->>'$.State' as campaign_state,
        _record->>'$.Status' as campaign_status,
        _record->>'$.Type' as campaign_type,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
