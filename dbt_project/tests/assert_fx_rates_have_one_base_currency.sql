-- Every rate of the chosen source (var fx_rates_source) is quoted in the same base currency,
-- or dividing one by another would mix units. Returns the base currencies when there are more.
{%- if var('fx_rates_source') == 'seed' %}
select distinct upper(base_currency_code) as base_currency_code
from {{ ref('fx_rates') }}
where (select count(distinct upper(base_currency_code)) from {{ ref('fx_rates') }}) > 1
{%- else %}
select distinct base_currency_code
from {{ ref('stg_cbr__daily_rates') }}
where (select count(distinct base_currency_code) from {{ ref('stg_cbr__daily_rates') }}) > 1
{%- endif %}
