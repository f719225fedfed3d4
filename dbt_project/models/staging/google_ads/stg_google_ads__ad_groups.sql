-- One row per Google Ads ad group (the level below the campaign; the project reads no ads).
with

source as (

    select * from {{ source_or_empty('google_ads', 'ad_groups', {'ad_group_id': 'varchar'}) }}

),

renamed as (

    select
        ad_group_id,
        coalesce({{ json_text('_record', 'customer.id') }}, _account_id) as customer_id,
        {{ json_text('_record', 'campaign.id') }} as campaign_id,
        {{ json_text('_record', 'adGroup.name') }} as ad_group_name,
        {{ json_text('_record', 'adGroup.status') }} as ad_group_status,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
