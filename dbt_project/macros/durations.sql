{# Fractional days from one timestamp to a later one (negative if it is earlier); NULL if either is NULL. #}
{% macro days_between(start_timestamp, end_timestamp) -%}
    (cast({{ dbt.datediff(start_timestamp, end_timestamp, 'millisecond') }} as {{ type_double() }}) / (1000 * 60 * 60 * 24))
{%- endmacro %}


{# The median of a numeric expression as DOUBLE, NULLs ignored (the 0.5 continuous quantile). #}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    cast(percentile_cont(0.5) within group (order by {{ expression }}) as {{ type_double() }})
{%- endmacro %}

{% macro duckdb__median(expression) -%}
    cast(quantile_cont({{ expression }}, 0.5) as {{ type_double() }})
{%- endmacro %}
