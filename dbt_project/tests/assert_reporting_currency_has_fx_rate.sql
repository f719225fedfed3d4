-- var('reporting_currency') must be the base currency of the rate source or have rates in it
-- (var fx_rates_source), or no amount in another currency can be converted. Returns a row
-- naming it when it has none. (A currency in the data without a rate for its day stops the
-- conversion itself, naming the currency and the day: macros/currency.sql.)
select '{{ var("reporting_currency") | upper }}' as reporting_currency
from (select 1) as one_row
where not exists (
    select 1
    from {{ ref('stg_fx__rates_daily') }}
    where currency_code = '{{ var("reporting_currency") | upper }}'
)
