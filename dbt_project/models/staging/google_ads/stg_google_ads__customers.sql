-- One row per Google Ads customer (client account): its currency and time zone.
with

source as (

    select * from {{ source_or_empty('google_ads', 'customers', {'customer_id': 'varchar'}) }}

),

renamed as (

    select
        customer_id,
        _account_id as source_account_id,
        {{ json_text('_record', 'customer.descriptiveName') }} as account_name,
        upper({{ json_text('_record', 'customer.currencyCode') }}) as currency,
        {{ json_text('_record', 'customer.timeZone') }} as time_zone,

        -- every field Google sent, including ones added later
        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
