-- One row per ad and day (level=ad, time_increment=1). Meta sends numbers as strings.
with

source as (

    select * from {{ source_or_empty('meta_ads', 'insights', {'ad_id': 'varchar', 'date_start': 'date'}) }}

),

renamed as (

    select
        _account_id as source_account_id,
        {{ json_text('_record', 'account_id') }} as ad_account_id,
        {{ json_text('_record', 'campaign_id') }} as campaign_id,
        {{ json_text('_record', 'campaign_name') }} as campaign_name,
        {{ json_text('_record', 'adset_id') }} as adset_id,
        {{ json_text('_record', 'adset_name') }} as adset_name,
        ad_id,
        {{ json_text('_record', 'ad_name') }} as ad_name,

        -- the day in the ad account's own time zone, as Meta reports it
        cast(date_start as date) as date_day,

        upper({{ json_text('_record', 'account_currency') }}) as account_currency,
        cast(nullif({{ json_text('_record', 'spend') }}, '') as {{ amount_type() }}) as spend,
        cast(nullif({{ json_text('_record', 'impressions') }}, '') as bigint) as impressions,
        cast(nullif({{ json_text('_record', 'clicks') }}, '') as bigint) as clicks,
        -- leads Meta itself counted (its attribution window), to compare with CRM leads
        {{ json_array_sum(json_value('_record', 'actions'), 'action_type', 'lead', 'value', 'bigint') }} as lead_actions,
        -- the value Meta assigns those leads (the 'lead' entry of action_values), in account_currency
        {{ json_array_sum(json_value('_record', 'action_values'), 'action_type', 'lead', 'value', amount_type()) }}
            as lead_action_value,

        -- every field Meta sent, including ones added later (new metrics, breakdowns)
        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

),

converted as (

    select
        *,
        -- converted at the rate of the row's own day (the account's day), rounded to the cent
        {{ to_reporting_currency('spend', 'account_currency', 'date_day') }} as spend_in_reporting_currency,
        {{ to_reporting_currency('lead_action_value', 'account_currency', 'date_day') }}
            as lead_action_value_in_reporting_currency
    from renamed

)

select * from converted
