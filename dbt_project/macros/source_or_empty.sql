{#
    source() for a raw table that exists only once its extractor has loaded it. A source
    the DAG does not extract (FUNNELHOUSE_SOURCES) has no raw_<source> tables, and a
    staging view selecting from one would fail the whole build. This renders the source
    table when it exists, else an empty relation with the columns the loader gives every
    raw table (extractors/loader.py): _account_id, the stream's key columns, _record,
    _loaded_at, _batch_id. Its staging models, and what they feed, are then empty.

    key_columns: the stream's key columns and their SQL types, e.g. {"date": "date"}.
    (`dbt source freshness` still reports a missing table as an error: it was never loaded.)
#}
{% macro source_or_empty(source_name, table_name, key_columns) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if execute and load_relation(relation) is none -%}
    (
        select
            cast(null as varchar) as _account_id,
            {%- for name, sql_type in key_columns.items() %}
            cast(null as {{ sql_type }}) as {{ adapter.quote(name) }},
            {%- endfor %}
            cast(null as {{ type_json() }}) as _record,
            cast(null as timestamptz) as _loaded_at,
            cast(null as varchar) as _batch_id
        limit 0
    )
    {%- else -%}
    {{ relation }}
    {%- endif -%}
{%- endmacro %}
