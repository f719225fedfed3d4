with

source as (

    select * from {{ source_or_empty('meta_ads', 'ad_accounts', {'id': 'varchar'}) }}

),

renamed as (

    select
        -- numeric id, as insights carry it; the API's node id is 'act_' || ad_account_id
        coalesce({{ json_text('_record', 'account_id') }}, replace(id, 'act_', '')) as ad_account_id,
        _account_id as source_account_id,
        {{ json_text('_record', 'name') }} as account_name,
        upper({{ json_text('_record', 'currency') }}) as currency,
        {{ json_text('_record', 'timezone_name') }} as timezone_name,
        cast({{ json_text('_record', 'timezone_offset_hours_utc') }} as {{ type_double() }}) as timezone_offset_hours_utc,

        -- every field Meta sent, including ones added later
        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
