{#
    Money, exactly (dbt_project/README.md, "Money and exchange rates"):

    - an amount in its own currency (an ad account's, a deal's) is DECIMAL(38, 6): Google's
      micros exactly, Meta's and HubSpot's decimal strings as sent (amount_type);
    - an amount in the reporting currency is DECIMAL(38, 2) (money_type). It is converted
      once, in staging, from one source row at the rate of that row's own day, and rounded
      there, half away from zero, to the cent (to_reporting_currency). Every later sum is a
      DECIMAL sum and so exact, and any order of addition gives the same bytes;
    - per-unit money (cpc, cpm, cost per lead, CAC, cost per unit) is DECIMAL(38, 4)
      (unit_money_type): the exact quotient of exact sums, rounded half away from zero
      (divide_money);
    - an exchange rate is DECIMAL(38, 12) (fx_rate_type): units of the rate source's base
      currency per one unit of the currency.

    Only rates and ratios (ctr, roas, roi, shares, weights) are DOUBLE, and each is one
    division of exact sums (safe_divide), or a sum taken through DECIMAL (sum_exactly), so
    that it too does not depend on the order rows are added in.
#}
{% macro amount_type() %}decimal(38, 6){% endmacro %}
{% macro money_type() %}decimal(38, 2){% endmacro %}
{% macro unit_money_type() %}decimal(38, 4){% endmacro %}
{% macro fx_rate_type() %}decimal(38, 12){% endmacro %}


{# An exact DECIMAL value (at most `scale` decimals) as the HUGEINT count of its 10^-scale units. #}
{% macro decimal_units(value, scale) -%}
    cast(cast({{ value }} as decimal(38, {{ scale }})) * {{ 10 ** scale }} as {{ type_hugeint() }})
{%- endmacro %}


{# A HUGEINT count of 10^-scale units as DECIMAL(38, scale), exactly. #}
{% macro units_to_decimal(units, scale) -%}
    {{ return(adapter.dispatch('units_to_decimal')(units, scale)) }}
{%- endmacro %}

{% macro duckdb__units_to_decimal(units, scale) -%}
    (cast({{ units }} as decimal({{ 38 - scale }}, 0)) * cast({{ '0.' ~ ('0' * (scale - 1)) ~ '1' }} as decimal({{ scale }}, {{ scale }})))
{%- endmacro %}

{# PostgreSQL's product of numerics has no declared scale: typed as DuckDB's product is. #}
{% macro postgres__units_to_decimal(units, scale) -%}
    cast({{ duckdb__units_to_decimal(units, scale) }} as decimal(38, {{ scale }}))
{%- endmacro %}


{# numerator / denominator (HUGEINTs, denominator > 0) rounded half away from zero to an integer. #}
{% macro divide_units_rounded(numerator, denominator) -%}
    (sign({{ numerator }}) * ({{ integer_divide('2 * abs(' ~ numerator ~ ') + (' ~ denominator ~ ')', '2 * (' ~ denominator ~ ')') }}))
{%- endmacro %}


{#
    numerator / denominator as DECIMAL(38, scale), exact and rounded half away from zero;
    NULL when the denominator is 0 or NULL. Numerator and denominator are DECIMALs or integers
    with at most numerator_scale and denominator_scale decimals (a count: denominator_scale 0).
    DuckDB divides DECIMALs as DOUBLE, so the quotient is taken in integers instead.
#}
{% macro divide_money(numerator, denominator, scale=4, numerator_scale=2, denominator_scale=0) -%}
    {{ return(adapter.dispatch('divide_money')(numerator, denominator, scale, numerator_scale, denominator_scale)) }}
{%- endmacro %}

{# PostgreSQL types a CASE without ELSE as a NUMERIC of no scale: typed as DuckDB's is. #}
{% macro postgres__divide_money(numerator, denominator, scale, numerator_scale, denominator_scale) -%}
    cast({{ duckdb__divide_money(numerator, denominator, scale, numerator_scale, denominator_scale) }} as decimal(38, {{ scale }}))
{%- endmacro %}

{% macro duckdb__divide_money(numerator, denominator, scale, numerator_scale, denominator_scale) -%}
    case when coalesce({{ denominator }}, 0) != 0 then {{ units_to_decimal(divide_units_rounded(
        decimal_units(numerator, numerator_scale) ~ ' * ' ~ (10 ** (scale + denominator_scale)),
        decimal_units(denominator, denominator_scale) ~ ' * ' ~ (10 ** numerator_scale)), scale) }} end
{%- endmacro %}


{#
    A sum of DOUBLEs that does not depend on the order of addition: each term is rounded to
    18 decimals and added as a DECIMAL. For ratios and weights (between about -10^19 and 10^19).
#}
{% macro sum_exactly(expression) -%}
    cast(sum(cast({{ expression }} as decimal(38, 18))) as {{ type_double() }})
{%- endmacro %}


{#
    amount (a DECIMAL in currency_code) on day -> DECIMAL(38, scale) in var('reporting_currency'),
    at that day's rates of stg_fx__rates_daily (the last rate published on or before the day):
    amount * rate(currency) / rate(reporting currency), rounded half away from zero to the cent
    (scale 2; per-unit money, e.g. a goal's cost cap, keeps 4),
    computed in integers so that nothing is lost on the way. An amount already in the reporting
    currency needs no rate. A currency with no rate for the day stops the query with an error
    naming it and the day: never NULL, never 0. NULL amounts stay NULL.
    The rate model's columns are renamed inside the subquery so a caller's own column names
    (currency_code, date_day) cannot be captured by it.
#}
{% macro to_reporting_currency(amount, currency_code, day, scale=2) -%}
    {%- set reporting = var('reporting_currency') | upper -%}
    (case
        when {{ amount }} is null then null
        when upper({{ currency_code }}) = '{{ reporting }}'
            then cast(round(cast({{ amount }} as {{ amount_type() }}), {{ scale }}) as decimal(38, {{ scale }}))
        else coalesce(
            (
                select {{ units_to_decimal(divide_units_rounded(
                    decimal_units(amount, 6) ~ ' * fx.fx_rate_units',
                    'fx.fx_reporting_rate_units * ' ~ (10 ** (6 - scale))), scale) }}
                from (
                    select currency_code as fx_currency_code, date_day as fx_date_day, rate_units as fx_rate_units,
                           reporting_rate_units as fx_reporting_rate_units
                    from {{ ref('stg_fx__rates_daily') }}
                ) as fx
                where fx.fx_currency_code = upper({{ currency_code }}) and fx.fx_date_day = {{ day }}
            ),
            {% call raise_error('decimal(38, ' ~ scale ~ ')') -%}
                'no exchange rate from ' || coalesce(upper({{ currency_code }}), '(no currency)')
                || ' to {{ reporting }} for ' || coalesce(cast({{ day }} as varchar), '(no date)')
                || ': both need a rate published on or before that day, at most {{ var("fx_rate_max_age_days") }} days before it; '
                {%- if var('fx_rates_source') == 'seed' %}
                || 'add it to seeds/fx_rates.csv (var fx_rates_source: seed)'
                {%- else %}
                || 'add the currency to the cbr connection''s currencies extra and extract cbr again (var fx_rates_source: cbr), '
                || 'or keep your own rates in seeds/fx_rates.csv (var fx_rates_source: seed)'
                {%- endif %}
            {%- endcall %}
        )
    end)
{%- endmacro %}


{#
    Shares out total_units (a HUGEINT count of cents, the same on every row of a partition) by
    each row's weight (DOUBLE, the weights of a partition summing to 1) in whole units that add
    up to total_units exactly: each row gets floor(total * weight), and the units left over go
    one each to the rows with the largest remainders (ties: in order_by order). So revenue
    credited by fractional attribution weights, or a budget shared out by fractional shares,
    sums to the cent to what it shares out. Deterministic: the same rows give the same units.
#}
{% macro allocate_units(total_units, weight, partition_by, order_by) -%}
    {%- set raw = '(cast(' ~ total_units ~ ' as ' ~ type_double() ~ ') * coalesce(' ~ weight ~ ', 0))' -%}
    {%- set floored = 'cast(floor(' ~ raw ~ ') as ' ~ type_hugeint() ~ ')' -%}
    {%- set partition = 'partition by ' ~ (partition_by | join(', ')) -%}
    {%- set left_over = '(' ~ total_units ~ ' - sum(' ~ floored ~ ') over (' ~ partition ~ '))' -%}
    ({{ floored }} + case
        when {{ left_over }} >= 0 then case
            when row_number() over ({{ partition }} order by {{ raw }} - {{ floored }} desc, {{ order_by | join(', ') }})
                <= {{ left_over }} then 1 else 0 end
        -- weights summing a hair above 1: take the surplus back from the smallest remainders
        else case
            when row_number() over ({{ partition }} order by {{ raw }} - {{ floored }}, {{ order_by | join(' desc, ') }} desc)
                <= -{{ left_over }} then -1 else 0 end
    end)
{%- endmacro %}
