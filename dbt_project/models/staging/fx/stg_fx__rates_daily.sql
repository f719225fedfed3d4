{{ config(materialized='table') }}
-- depends_on: {{ ref('fx_rates') }}
-- depends_on: {{ ref('stg_cbr__daily_rates') }}
-- One row per currency and calendar day: the rate every amount of that day is converted at
-- (macros/currency.sql, to_reporting_currency), from the source var('fx_rates_source') names
-- (cbr: the Central Bank of Russia's rates; seed: seeds/fx_rates.csv). A day without a
-- published rate (a weekend, a holiday) takes the last rate published on or before it, if
-- that rate is at most var('fx_rate_max_age_days') days old; a currency whose rates stopped
-- longer ago has no row, so its amounts fail to convert instead of using a stale rate.
-- Every rate is quoted in one base currency, which has the rate 1 on every day. A table:
-- every converted amount looks its day up here.
{%- set max_age = var('fx_rate_max_age_days') | int %}
{%- set reporting = var('reporting_currency') | upper %}
with

published as (

    {%- if var('fx_rates_source') == 'seed' %}
    select
        cast(rate_date as date) as rate_date,
        upper(currency_code) as currency_code,
        upper(base_currency_code) as base_currency_code,
        cast(rate as {{ fx_rate_type() }}) as rate_in_base
    from {{ ref('fx_rates') }}
    {%- elif var('fx_rates_source') == 'cbr' %}
        select
            rate_date,
            currency_code,
            base_currency_code,
            rate_in_base
        from {{ ref('stg_cbr__daily_rates') }}
    {%- else %}
    {{ exceptions.raise_compiler_error("var fx_rates_source is '" ~ var('fx_rates_source') ~ "': set it to 'cbr' (the cbr extractor) or 'seed' (seeds/fx_rates.csv)") }}
    {%- endif %}

),

quoted as (

    -- the base currency quoted in itself is 1, whatever a source says
    select * from published
    where currency_code != base_currency_code

),

base as (

    select min(base_currency_code) as base_currency_code from published

),

calendar as (

    select {{ days_from_to('min(rate_date)', 'max(rate_date) + ' ~ (max_age - 1)) }} as date_day
    from published

),

currencies as (

    select distinct currency_code from quoted

),

carried as (

    -- the last rate published on or before each day
    {{ last_rate_on_or_before('calendar', 'currencies', 'quoted', max_age) }}

    union all

    select
        calendar.date_day,
        base.base_currency_code as currency_code,
        calendar.date_day as rate_date,
        cast(1 as {{ fx_rate_type() }}) as rate_in_base
    from calendar
    cross join base

),

with_reporting_rate as (

    select
        carried.date_day,
        carried.currency_code,
        base.base_currency_code,
        carried.rate_date,
        carried.rate_in_base,
        reporting.rate_date as reporting_rate_date,
        reporting.rate_in_base as reporting_rate_in_base,
        {{ decimal_units('carried.rate_in_base', 12) }} as rate_units,
        {{ decimal_units('reporting.rate_in_base', 12) }} as reporting_rate_units,
        -- for reading only: conversions use the exact rates above
        cast(carried.rate_in_base as {{ type_double() }})
        / cast(reporting.rate_in_base as {{ type_double() }}) as rate_to_reporting_currency
    from carried
    inner join carried as reporting
        on
            carried.date_day = reporting.date_day
            and reporting.currency_code = '{{ reporting }}'
    cross join base

)

select * from with_reporting_rate
