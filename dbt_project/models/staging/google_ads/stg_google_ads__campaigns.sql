-- One row per Google Ads campaign.
with

source as (

    select * from {{ source_or_empty('google_ads', 'campaigns', {'campaign_id': 'varchar'}) }}

),

renamed as (

    select
        campaign_id,
        coalesce({{ json_text('_record', 'customer.id') }}, _account_id) as customer_id,
        {{ json_text('_record', 'campaign.name') }} as campaign_name,
        {{ json_text('_record', 'campaign.status') }} as campaign_status,
        {{ json_text('_record', 'campaign.advertisingChannelType') }} as advertising_channel_type,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
