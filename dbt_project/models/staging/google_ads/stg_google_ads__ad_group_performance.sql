-- One row per ad group and day (searchStream FROM ad_group, segmented by date). Google
-- sends int64 fields as strings, cost in micros of the account currency, and the date in
-- the account's time zone.
with

source as (

    select * from {{ source_or_empty('google_ads', 'ad_group_performance', {'ad_group_id': 'varchar', 'date': 'date'}) }}

),

renamed as (

    select
        _account_id as source_account_id,
        coalesce({{ json_text('_record', 'customer.id') }}, _account_id) as customer_id,
        {{ json_text('_record', 'campaign.id') }} as campaign_id,
        {{ json_text('_record', 'campaign.name') }} as campaign_name,
        ad_group_id,
        {{ json_text('_record', 'adGroup.name') }} as ad_group_name,

        -- the day in the account's own time zone (segments.date), as Google reports it
        date as date_day,
        upper({{ json_text('_record', 'customer.currencyCode') }}) as account_currency,
        {{ json_text('_record', 'customer.timeZone') }} as account_timezone,

        cast(nullif({{ json_text('_record', 'metrics.costMicros') }}, '') as bigint) as cost_micros,
        cast(nullif({{ json_text('_record', 'metrics.impressions') }}, '') as bigint) as impressions,
        cast(nullif({{ json_text('_record', 'metrics.clicks') }}, '') as bigint) as clicks,
        -- every conversion action counted in "Conversions", by Google's attribution; fractional
        -- under data-driven attribution, restated for up to the conversion window
        cast(nullif({{ json_text('_record', 'metrics.conversions') }}, '') as {{ type_double() }}) as conversions,
        -- a DECIMAL: money in the account currency (Google sends a double; 6 decimals hold its cents)
        cast(nullif({{ json_text('_record', 'metrics.conversionsValue') }}, '') as {{ amount_type() }}) as conversions_value,

        -- every field Google sent, including ones added later (new metrics, segments)
        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

),

converted as (

    select
        *,
        -- micros -> account currency, exactly (6 decimals hold every micro)
        {{ units_to_decimal('cost_micros', 6) }} as spend,
        -- converted at the rate of the row's own day (the account's day), rounded to the cent
        {{ to_reporting_currency(units_to_decimal('cost_micros', 6), 'account_currency', 'date_day') }}
            as spend_in_reporting_currency,
        {{ to_reporting_currency('conversions_value', 'account_currency', 'date_day') }}
            as conversions_value_in_reporting_currency
    from renamed

)

select * from converted
