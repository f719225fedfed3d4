-- One row per currency and rate date as the Central Bank of Russia published it: roubles per
-- one unit of the currency, exactly (Value is for Nominal units, with four decimals and a
-- decimal comma). Only the dates the Bank set a rate for; stg_fx__rates_daily carries a rate
-- over the days without one.
with

source as (

    select * from {{ source_or_empty('cbr', 'daily_rates', {'date': 'date'}) }}

),

renamed as (

    select
        upper(_account_id) as currency_code,
        date as rate_date,
        'RUB' as base_currency_code,
        {{ json_text('_record', 'Id') }} as cbr_currency_id,
        cast({{ json_text('_record', 'Nominal') }} as bigint) as nominal,
        cast(replace({{ json_text('_record', 'Value') }}, ',', '.') as {{ fx_rate_type() }}) as value_in_base,

        -- every field the Bank sent (VunitRate, fields added later)
        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

),

per_unit as (

    select
        *,
        -- roubles per one unit; exact for the Bank's nominals (1, 10, 100, ...)
        {{ units_to_decimal(
            divide_units_rounded(decimal_units('value_in_base', 12), 'cast(nominal as ' ~ type_hugeint() ~ ')'), 12
        ) }}
            as rate_in_base
    from renamed

)

select * from per_unit
