{# numerator / denominator as DOUBLE, NULL (not an error or infinity) when the denominator is 0. #}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as {{ type_double() }}) / nullif({{ denominator }}, 0))
{%- endmacro %}
