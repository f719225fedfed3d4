with

source as (

    select * from {{ source_or_empty('hubspot', 'deals', {'id': 'varchar'}) }}

),

renamed as (

    select
        id as deal_id,
        _account_id as source_account_id,

        {{ hubspot_property('dealname') }} as deal_name,
        {{ hubspot_property('pipeline') }} as pipeline,
        {{ hubspot_property('dealstage') }} as deal_stage,
        coalesce(lower({{ hubspot_property('hs_is_closed_won') }}) = 'true', false) as is_closed_won,

        cast({{ hubspot_property('amount') }} as {{ amount_type() }}) as amount,
        upper(coalesce(
            {{ hubspot_property('deal_currency_code') }},
            '{{ var("hubspot_company_currency") }}'
        )) as deal_currency_code,

        {{ iso_to_utc_timestamp(hubspot_property('closedate')) }} as closed_at,
        {{ iso_to_utc_timestamp("coalesce(" ~ hubspot_property('createdate') ~ ", " ~ json_text('_record', 'createdAt') ~ ")") }}
            as created_at,
        {{ iso_to_utc_timestamp(hubspot_property('hs_lastmodifieddate')) }} as last_modified_at,
        {{ iso_to_utc_timestamp(json_text('_record', 'updatedAt')) }} as updated_at,

        coalesce(cast({{ json_text('_record', 'archived') }} as boolean), false) as is_archived,
        {{ iso_to_utc_timestamp(json_text('_record', 'archivedAt')) }} as archived_at,

        -- every property HubSpot sent, including ones added to the portal later
        {{ json_value('_record', 'properties') }} as properties_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

),

converted as (

    select
        *,
        -- the day whose rate converts the amount: a won deal's close date (UTC), the day its
        -- revenue is booked on; any other deal's create date (an open deal's close date is
        -- only expected, and may lie ahead of every published rate)
        cast(case when is_closed_won and closed_at is not null then closed_at else created_at end as date)
            as fx_rate_day,
            -- converted at that day's rate, rounded to the cent
        {{ to_reporting_currency('amount', 'deal_currency_code',
            'cast(case when is_closed_won and closed_at is not null then closed_at else created_at end as date)') }}
            as amount_in_reporting_currency
    from renamed

)

select * from converted
