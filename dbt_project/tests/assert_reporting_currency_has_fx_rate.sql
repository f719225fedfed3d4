-- var('reporting_currency') must have exactly one rate in seeds/fx_rates.csv,
-- or every converted amount would be NULL. Returns a row when it does not.
select '{{ var("reporting_currency") }}' as reporting_currency
from (select 1) as one_row
where (
    select count(*)
    from {{ ref('fx_rates') }}
    where currency_code = '{{ var("reporting_currency") }}'
) != 1
