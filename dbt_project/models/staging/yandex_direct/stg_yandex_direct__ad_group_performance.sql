-- One row per Yandex Direct ad group and day (a CUSTOM_REPORT of the Reports service). Direct
-- sends every value as text, Cost in micros of the campaign's currency without VAT (the
-- extractor asks IncludeVAT NO, so spend compares with Google's and Meta's, which exclude it),
-- "--" for a metric without a value, and the day in the campaign's time zone. The currency
-- and time zone come from the campaign (campaigns.get); a report row of a campaign not read yet
-- takes the account's default, roubles in Moscow.
with

source as (

    select * from {{ source_or_empty('yandex_direct', 'ad_group_performance', {'ad_group_id': 'varchar', 'date': 'date'}) }}

),

campaigns as (

    select * from {{ ref('stg_yandex_direct__campaigns') }}

),

renamed as (

    select
        source._account_id as client_login,
        source._record->>'$.CampaignId' as campaign_id,
        source._record->>'$.CampaignName' as campaign_name,
        source.ad_group_id,
        source._record->>'$.AdGroupName' as ad_group_name,

        -- the day in the campaign's time zone, as Direct reports it
        source.date as date_day,
        coalesce(campaigns.currency, 'RUB') as account_currency,
        coalesce(campaigns.time_zone, 'Europe/Moscow') as account_timezone,

        cast(nullif(nullif(source._record->>'$.Cost', ''), '--') as bigint) as cost_micros,
        cast(nullif(nullif(source._record->>'$.Impressions', ''), '--') as bigint) as impressions,
        cast(nullif(nullif(source._record->>'$.Clicks', ''), '--') as bigint) as clicks,
        -- Yandex Metrica goal reaches credited to the click's day, restated for days after it
        cast(coalesce(nullif(nullif(source._record->>'$.Conversions', ''), '--'), '0') as double) as conversions,

        -- every field Direct sent, including ones added to the report later
        source._record as record_json,

        source._loaded_at at time zone 'UTC' as loaded_at,
        source._batch_id as batch_id

    from source
    left join campaigns
        on source._account_id = campaigns.client_login
        and (source._record->>'$.CampaignId') = campaigns.campaign_id

),

converted as (

    select
        *,
        -- micros -> account currency, exactly (6 decimals hold every micro)
        {{ units_to_decimal('cost_micros', 6) }} as spend,
        -- converted at the rate of the row's own day (the account's day), rounded to the cent
        {{ to_reporting_currency(units_to_decimal('cost_micros', 6), 'account_currency', 'date_day') }}
            as spend_in_reporting_currency
    from renamed

)

select * from converted
