{#
    amount (in currency_code) -> amount in var('reporting_currency'), through the
    USD rates of seeds/fx_rates.csv. NULL when the currency has no rate; the
    relationships tests on currency columns catch that before it reaches a mart.
    The seed's columns are renamed inside the subquery so a caller's own column
    names cannot be captured by it.
#}
{% macro to_reporting_currency(amount, currency_code) -%}
    (
        {{ amount }}
        * (
            select fx.fx_rate_to_usd
            from (
                select currency_code as fx_currency_code, rate_to_usd as fx_rate_to_usd
                from {{ ref('fx_rates') }}
            ) as fx
            where fx.fx_currency_code = upper({{ currency_code }})
        )
        / (
            select rate_to_usd
            from {{ ref('fx_rates') }}
            where currency_code = '{{ var("reporting_currency") }}'
        )
    )
{%- endmacro %}
