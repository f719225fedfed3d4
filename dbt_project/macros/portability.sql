{#
    The few places where DuckDB and PostgreSQL spell the same thing differently, one macro each
    (adapter.dispatch: duckdb__ keeps the SQL the DuckDB warehouse has always run, byte for byte;
    postgres__ is PostgreSQL's). Everything else in the models is SQL both engines read alike.
#}

{# The text at a JSON path of dotted names ('customer.id'), NULL when absent: DuckDB's ->> '$.path'. #}
{% macro json_text(column, path) -%}
    {{ return(adapter.dispatch('json_text')(column, path)) }}
{%- endmacro %}
{% macro duckdb__json_text(column, path) -%}
    {{ column }}->>'$.{{ path }}'
{%- endmacro %}
{% macro postgres__json_text(column, path) -%}
    ({{ column }} #>> '{ {{- path.split('.') | join(',') -}} }')
{%- endmacro %}

{# The JSON value (object, array) at a path: DuckDB's -> '$.path'. #}
{% macro json_value(column, path) -%}
    {{ return(adapter.dispatch('json_value')(column, path)) }}
{%- endmacro %}
{% macro duckdb__json_value(column, path) -%}
    {{ column }}->'$.{{ path }}'
{%- endmacro %}
{% macro postgres__json_value(column, path) -%}
    ({{ column }} #> '{ {{- path.split('.') | join(',') -}} }')
{%- endmacro %}

{# The elements of a JSON array, one row each (a set-returning expression for a select list). #}
{% macro json_array_elements(json_array) -%}
    {{ return(adapter.dispatch('json_array_elements')(json_array)) }}
{%- endmacro %}
{% macro duckdb__json_array_elements(json_array) -%}
    unnest(cast({{ json_array }} as json[]))
{%- endmacro %}
{% macro postgres__json_array_elements(json_array) -%}
    jsonb_array_elements(case when jsonb_typeof({{ json_array }}) = 'array' then {{ json_array }} end)
{%- endmacro %}

{#
    sum over the elements of a JSON array of objects whose `key_field` is `key_value`, of
    `value_field` cast to value_type; NULL when none match (Meta's actions / action_values).
#}
{% macro json_array_sum(json_array, key_field, key_value, value_field, value_type) -%}
    {{ return(adapter.dispatch('json_array_sum')(json_array, key_field, key_value, value_field, value_type)) }}
{%- endmacro %}
{% macro duckdb__json_array_sum(json_array, key_field, key_value, value_field, value_type) -%}
    list_sum(list_transform(
            list_filter(
                cast({{ json_array }} as json[]),
                lambda action: action->>'$.{{ key_field }}' = '{{ key_value }}'
            ),
            lambda action: cast(action->>'$.{{ value_field }}' as {{ value_type }})
        ))
{%- endmacro %}
{% macro postgres__json_array_sum(json_array, key_field, key_value, value_field, value_type) -%}
    (select sum(cast(action ->> '{{ value_field }}' as {{ value_type }}))
     from jsonb_array_elements(case when jsonb_typeof({{ json_array }}) = 'array' then {{ json_array }} end) as action
     where action ->> '{{ key_field }}' = '{{ key_value }}')
{%- endmacro %}

{# The raw tables' _record column: DuckDB's json, PostgreSQL's jsonb (extractors/postgres.py). #}
{% macro type_json() -%}
    {{ return(adapter.dispatch('type_json')()) }}
{%- endmacro %}
{% macro duckdb__type_json() %}json{% endmacro %}
{% macro postgres__type_json() %}jsonb{% endmacro %}

{# 64-bit IEEE floating point: DuckDB's double, PostgreSQL's double precision. #}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double')()) }}
{%- endmacro %}
{% macro duckdb__type_double() %}double{% endmacro %}
{% macro postgres__type_double() %}double precision{% endmacro %}

{# Exact integers beyond 64 bits (money in 10^-12 units): DuckDB's hugeint, PostgreSQL's numeric. #}
{% macro type_hugeint() -%}
    {{ return(adapter.dispatch('type_hugeint')()) }}
{%- endmacro %}
{% macro duckdb__type_hugeint() %}hugeint{% endmacro %}
{% macro postgres__type_hugeint() %}numeric(38, 0){% endmacro %}

{# Integer division of non-negative integers (DuckDB's //). #}
{% macro integer_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('integer_divide')(numerator, denominator)) }}
{%- endmacro %}
{% macro duckdb__integer_divide(numerator, denominator) -%}
    ({{ numerator }}) // ({{ denominator }})
{%- endmacro %}
{% macro postgres__integer_divide(numerator, denominator) -%}
    div({{ numerator }}, {{ denominator }})
{%- endmacro %}

{# Regular expressions (RE2 on DuckDB, ARE on PostgreSQL: the patterns here mean the same in both). #}
{% macro regex_matches(text, pattern) -%}
    {{ return(adapter.dispatch('regex_matches')(text, pattern)) }}
{%- endmacro %}
{% macro duckdb__regex_matches(text, pattern) -%}
    regexp_matches({{ text }}, {{ pattern }})
{%- endmacro %}
{% macro postgres__regex_matches(text, pattern) -%}
    ({{ text }} ~ {{ pattern }})
{%- endmacro %}

{% macro regex_full_match(text, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match')(text, pattern)) }}
{%- endmacro %}
{% macro duckdb__regex_full_match(text, pattern) -%}
    regexp_full_match({{ text }}, {{ pattern }})
{%- endmacro %}
{% macro postgres__regex_full_match(text, pattern) -%}
    ({{ text }} ~ ('^(?:' || {{ pattern }} || ')$'))
{%- endmacro %}

{# The `group`th capture of the first match, '' when there is none (DuckDB's regexp_extract). #}
{% macro regex_extract(text, pattern, group) -%}
    {{ return(adapter.dispatch('regex_extract')(text, pattern, group)) }}
{%- endmacro %}
{% macro duckdb__regex_extract(text, pattern, group) -%}
    regexp_extract({{ text }}, {{ pattern }}, {{ group }})
{%- endmacro %}
{% macro postgres__regex_extract(text, pattern, group) -%}
    coalesce((regexp_match({{ text }}, {{ pattern }}))[{{ group }}], case when {{ text }} is not null then '' end)
{%- endmacro %}

{# Does text contain / end with a fragment. #}
{% macro text_contains(text, fragment) -%}
    {{ return(adapter.dispatch('text_contains')(text, fragment)) }}
{%- endmacro %}
{% macro duckdb__text_contains(text, fragment) -%}
    contains({{ text }}, {{ fragment }})
{%- endmacro %}
{% macro postgres__text_contains(text, fragment) -%}
    (strpos({{ text }}, {{ fragment }}) > 0)
{%- endmacro %}

{% macro text_ends_with(text, fragment) -%}
    {{ return(adapter.dispatch('text_ends_with')(text, fragment)) }}
{%- endmacro %}
{% macro duckdb__text_ends_with(text, fragment) -%}
    suffix({{ text }}, {{ fragment }})
{%- endmacro %}
{% macro postgres__text_ends_with(text, fragment) -%}
    (right({{ text }}, length({{ fragment }})) = {{ fragment }})
{%- endmacro %}

{# Milliseconds since the epoch of a timestamp, as an integer. #}
{% macro epoch_milliseconds(timestamp) -%}
    {{ return(adapter.dispatch('epoch_milliseconds')(timestamp)) }}
{%- endmacro %}
{% macro duckdb__epoch_milliseconds(timestamp) -%}
    epoch_ms({{ timestamp }})
{%- endmacro %}
{% macro postgres__epoch_milliseconds(timestamp) -%}
    cast(floor(extract(epoch from {{ timestamp }}) * 1000) as bigint)
{%- endmacro %}

{# A date as 'YYYY-MM'. #}
{% macro year_month_text(date) -%}
    {{ return(adapter.dispatch('year_month_text')(date)) }}
{%- endmacro %}
{% macro duckdb__year_month_text(date) -%}
    strftime({{ date }}, '%Y-%m')
{%- endmacro %}
{% macro postgres__year_month_text(date) -%}
    to_char({{ date }}, 'YYYY-MM')
{%- endmacro %}

{# A whole-day interval of n days, n an integer literal. #}
{% macro days_interval(n) -%}
    {{ return(adapter.dispatch('days_interval')(n)) }}
{%- endmacro %}
{% macro duckdb__days_interval(n) %}interval {{ n }} day{% endmacro %}
{% macro postgres__days_interval(n) %}interval '{{ n }} days'{% endmacro %}

{# Every day from first_day to last_day (DATE expressions of one row), as rows of date_day. #}
{% macro days_from_to(first_day, last_day) -%}
    {{ return(adapter.dispatch('days_from_to')(first_day, last_day)) }}
{%- endmacro %}
{% macro duckdb__days_from_to(first_day, last_day) -%}
    cast(unnest(generate_series({{ first_day }}, {{ last_day }}, interval 1 day)) as date)
{%- endmacro %}
{% macro postgres__days_from_to(first_day, last_day) -%}
    cast(generate_series(cast({{ first_day }} as timestamp), cast({{ last_day }} as timestamp), interval '1 day') as date)
{%- endmacro %}

{# Milliseconds (an integer) as fractional days, DOUBLE. #}
{% macro milliseconds_to_days(milliseconds) -%}
    {{ return(adapter.dispatch('milliseconds_to_days')(milliseconds)) }}
{%- endmacro %}
{% macro duckdb__milliseconds_to_days(milliseconds) -%}
    {{ milliseconds }} / 86400000.0
{%- endmacro %}
{% macro postgres__milliseconds_to_days(milliseconds) -%}
    (cast({{ milliseconds }} as double precision) / 86400000.0)
{%- endmacro %}

{# A sum of DOUBLEs added in a given order, so it is the same on every run (an aggregate). #}
{% macro sum_in_order(expression, order_by) -%}
    {{ return(adapter.dispatch('sum_in_order')(expression, order_by)) }}
{%- endmacro %}
{% macro duckdb__sum_in_order(expression, order_by) -%}
    list_sum(list({{ expression }} order by {{ order_by }}))
{%- endmacro %}
{% macro postgres__sum_in_order(expression, order_by) -%}
    (select sum(term) from unnest(array_agg({{ expression }} order by {{ order_by }})) as term)
{%- endmacro %}

{# The value of `expression` on the row where `by` is largest, NULL values of either left out (an aggregate). #}
{% macro value_at_max(expression, by) -%}
    {{ return(adapter.dispatch('value_at_max')(expression, by)) }}
{%- endmacro %}
{% macro duckdb__value_at_max(expression, by) -%}
    arg_max({{ expression }}, {{ by }})
{%- endmacro %}
{% macro postgres__value_at_max(expression, by) -%}
    (array_agg({{ expression }} order by {{ by }} desc) filter (where {{ expression }} is not null and {{ by }} is not null))[1]
{%- endmacro %}

{#
    Each day of `calendar` (date_day) and currency of `currencies` (currency_code) with the last
    rate of `quoted` (currency_code, rate_date, rate_in_base) published on or before the day, if it
    is less than max_age days old: date_day, currency_code, rate_date, rate_in_base.
#}
{% macro last_rate_on_or_before(calendar, currencies, quoted, max_age) -%}
    {{ return(adapter.dispatch('last_rate_on_or_before')(calendar, currencies, quoted, max_age)) }}
{%- endmacro %}
{% macro duckdb__last_rate_on_or_before(calendar, currencies, quoted, max_age) -%}
    select
        {{ calendar }}.date_day,
        {{ currencies }}.currency_code,
        {{ quoted }}.rate_date,
        {{ quoted }}.rate_in_base
    from {{ calendar }}
    cross join {{ currencies }}
    asof join {{ quoted }}
        on {{ currencies }}.currency_code = {{ quoted }}.currency_code
        and {{ calendar }}.date_day >= {{ quoted }}.rate_date
    where {{ calendar }}.date_day - {{ quoted }}.rate_date < {{ max_age }}
{%- endmacro %}
{% macro postgres__last_rate_on_or_before(calendar, currencies, quoted, max_age) -%}
    select
        {{ calendar }}.date_day,
        {{ currencies }}.currency_code,
        last_rate.rate_date,
        -- typed as the union's other branch is, so the column keeps its scale
        cast(last_rate.rate_in_base as {{ fx_rate_type() }}) as rate_in_base
    from {{ calendar }}
    cross join {{ currencies }}
    cross join lateral (
        select {{ quoted }}.rate_date, {{ quoted }}.rate_in_base
        from {{ quoted }}
        where {{ quoted }}.currency_code = {{ currencies }}.currency_code
            and {{ quoted }}.rate_date <= {{ calendar }}.date_day
        order by {{ quoted }}.rate_date desc
        limit 1
    ) as last_rate
    where {{ calendar }}.date_day - last_rate.rate_date < {{ max_age }}
{%- endmacro %}

{#
    Stop the query with a message (a text expression, the body of a call block), where a value of
    sql_type is expected: DuckDB's error(); on PostgreSQL a function portability_functions() creates.
#}
{% macro raise_error(sql_type) -%}
    {{ return(adapter.dispatch('raise_error')(caller(), sql_type)) }}
{%- endmacro %}
{% macro duckdb__raise_error(message, sql_type) -%}
    error(
                {{ message }}
            )
{%- endmacro %}
{% macro postgres__raise_error(message, sql_type) -%}
    _funnelhouse.raise_error({{ message }}, cast(null as {{ sql_type }}))
{%- endmacro %}

{# on-run-start: the functions the models need that the engine does not have. #}
{% macro portability_functions() -%}
    {{ return(adapter.dispatch('portability_functions')()) }}
{%- endmacro %}
{% macro default__portability_functions() %}select 1{% endmacro %}
{% macro postgres__portability_functions() -%}
    create schema if not exists _funnelhouse;
    create or replace function _funnelhouse.raise_error(message text, typed_like anyelement) returns anyelement
        language plpgsql volatile as $$ begin raise exception '%', message; end $$;
{%- endmacro %}

{# The values of some columns as one value (for a fingerprint): DuckDB's struct, PostgreSQL's row. #}
{% macro row_of(columns) -%}
    {{ return(adapter.dispatch('row_of')(columns)) }}
{%- endmacro %}
{% macro duckdb__row_of(columns) -%}
    struct_pack({{ columns | join(', ') }})
{%- endmacro %}
{% macro postgres__row_of(columns) -%}
    row({{ columns | join(', ') }})
{%- endmacro %}
