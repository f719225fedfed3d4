{#
    Incremental models that rebuild exactly the days whose inputs changed: the
    `replace_days` incremental strategy.

    A model's rows belong to one date_day each, and a day's rows depend only on its
    inputs' rows of that day, plus small inputs that affect every day (seeds,
    account names, vars, the model's own SQL). So an incremental build recomputes
    every row of the changed days, deletes those days from the table and inserts
    the new rows; every other day stays as it is. A day changed when:

    1. day inputs (config meta replace_days.day_inputs: a staging model over a raw
       table of the loader) hold rows of a batch the model has not yet read
       (_funnelhouse.loaded_batches minus the batches recorded in
       _funnelhouse.incremental_batches at the model's last build), or a window load
       of such a batch replaced the day (_funnelhouse.loaded_windows: also the days
       whose rows all vanished, which no raw row marks);
    2. compared inputs (replace_days.compared_inputs: small per-day aggregates that
       change without a dated load, e.g. CRM records edited months later) differ on
       the day from the copy saved at the last build;
    3. the fingerprint changed: a hash of the model's SQL, the vars it names, the
       rows of its fingerprint inputs (seeds, account dimensions) and the
       fingerprints of the incremental models it reads. Then every day is rebuilt.

    A model without saved state (its first incremental build after being a table)
    has no fingerprint, so it is rebuilt whole. `dbt build --full-refresh` rebuilds
    it whole as well, and both ways save the same state.

    Wiring, in the model:
        {{ config(**replace_days_config(day_inputs=[...], fingerprint_inputs=[...], ...)) }}
        ... from {{ ref('an_input') }} {{ replace_days_filter() }}
    plus a `-- depends_on: {{ ref(...) }}` line for each input the hooks read that
    the model does not ref itself. on-run-start creates the state tables.
#}

{# A replace_days model's whole config: the strategy, its hooks and its inputs (see above). #}
{#- on_schema_change: PostgreSQL reports a contract's varchar against the query's text as a changed
    type, so there new columns are added and types left alone (the contracts still check every build). #}
{% macro replace_days_config(day_inputs, fingerprint_inputs=[], compared_inputs=[], vars=[]) -%}
    {%- set spec = {'day_inputs': day_inputs, 'fingerprint_inputs': fingerprint_inputs} -%}
    {%- if compared_inputs %}{% do spec.update({'compared_inputs': compared_inputs}) %}{% endif -%}
    {%- if vars %}{% do spec.update({'vars': vars}) %}{% endif -%}
    {{- return({
        'materialized': 'incremental',
        'incremental_strategy': 'replace_days',
        'on_schema_change': 'append_new_columns' if target.type == 'postgres' else 'fail',
        'pre_hook': '{{ replace_days_prepare() }}',
        'post_hook': '{{ replace_days_save_state() }}',
        'meta': {'replace_days': spec},
    }) -}}
{%- endmacro %}


{% macro replace_days_state_tables() -%}
    create schema if not exists _funnelhouse;
    create table if not exists _funnelhouse.incremental_state (
        model varchar not null, fingerprint varchar not null, built_at timestamptz not null,
        incremental_build boolean not null);
    create table if not exists _funnelhouse.incremental_batches (model varchar not null, batch_id varchar not null);
    create table if not exists _funnelhouse.incremental_changed_days (model varchar not null, date_day date not null);
{%- endmacro %}


{% macro replace_days_model_key() -%}
    {{- return(this.schema ~ '.' ~ this.identifier) -}}
{%- endmacro %}


{% macro replace_days_spec() -%}
    {%- set meta = config.get('meta') or {} -%}
    {{- return(meta.get('replace_days', {})) -}}
{%- endmacro %}


{# The days this build replaces (inside the model: where date_day in (...)). #}
{% macro replace_days_changed() -%}
    select date_day from _funnelhouse.incremental_changed_days where model = '{{ replace_days_model_key() }}'
{%- endmacro %}


{# The model's filter on its inputs: nothing in a full build, the changed days in an incremental one. #}
{% macro replace_days_filter(column='date_day') -%}
    {%- if is_incremental() %}
    -- only the days whose inputs changed since the last build (macros/replace_days.sql)
    where {{ column }} in ({{ replace_days_changed() }})
    {%- endif %}
{%- endmacro %}


{% macro replace_days_meta_table(name) -%}
    {{- return(adapter.get_relation(database=this.database, schema='_funnelhouse', identifier=name)) -}}
{%- endmacro %}


{# One hash over everything that affects every day of the model. #}
{% macro replace_days_fingerprint() -%}
    {%- set spec = replace_days_spec() -%}
    (
        select md5(string_agg(part, chr(30) order by part))
        from (
            select 'sql:{{ model.checksum.checksum }}' as part
            {%- for name in spec.get('vars', []) %}
            union all select 'var:{{ name }}=' || {{ "'" ~ (var(name) | string | replace("'", "''")) ~ "'" }}
            {%- endfor %}
            {%- for item in spec.get('fingerprint_inputs', []) %}
            union all
            select '{{ item.ref }}:' || cast(row_values as varchar)
            from (
                select {% if item.columns is defined %}{{ row_of(item.columns) }}{% else %}fingerprinted{% endif %} as row_values
                from {{ ref(item.ref) }} as fingerprinted
            ) as fingerprinted_rows
            {%- endfor %}
            {%- for parent in model.depends_on.nodes if graph.nodes.get(parent) and graph.nodes[parent].config.materialized == 'incremental' %}
            {%- set parent_key = graph.nodes[parent].schema ~ '.' ~ (graph.nodes[parent].alias or graph.nodes[parent].name) %}
            -- an incremental model read here: when it rebuilds every day, so does this one
            union all
            select 'upstream:{{ parent_key }}=' || coalesce(
                (select fingerprint from _funnelhouse.incremental_state where model = '{{ parent_key }}'), '(none)')
            {%- endfor %}
        ) as fingerprint_parts
    )
{%- endmacro %}


{# pre-hook: work out the changed days and keep them in _funnelhouse.incremental_changed_days. #}
{% macro replace_days_prepare() -%}
    {%- set spec = replace_days_spec() -%}
    {%- set key = replace_days_model_key() -%}
    {%- set loaded_batches = replace_days_meta_table('loaded_batches') -%}
    {%- set loaded_windows = replace_days_meta_table('loaded_windows') -%}
    delete from _funnelhouse.incremental_changed_days where model = '{{ key }}';
    {%- if is_incremental() %}
    insert into _funnelhouse.incremental_changed_days
    with

    new_batches as (
        {%- if loaded_batches is not none %}
        select batch_id from {{ loaded_batches }}
        except
        select batch_id from _funnelhouse.incremental_batches where model = '{{ key }}'
        {%- else %}
        select cast(null as varchar) as batch_id limit 0
        {%- endif %}
    ),

    rebuild_all as (
        select coalesce(
            (select fingerprint from _funnelhouse.incremental_state where model = '{{ key }}')
                is distinct from {{ replace_days_fingerprint() }},
            true
        ) as every_day
    ),

    changed as (
        -- every day the table holds, when the fingerprint changed
        select date_day from {{ this }} where (select every_day from rebuild_all)
        {%- for input in spec.get('day_inputs', []) %}
        {%- set loaded_source, loaded_stream = input.loaded_from.split('.') %}
        union
        -- {{ input.ref }}: days of rows loaded since the last build (or every day)
        select date_day from {{ ref(input.ref) }}
        where batch_id in (select batch_id from new_batches) or (select every_day from rebuild_all)
        {%- if loaded_windows is not none %}
        union
        -- days window loads replaced, also those whose rows all vanished
        select {{ days_from_to('first_day', 'last_day') }} as date_day
        from {{ loaded_windows }}
        where source = '{{ loaded_source }}' and stream = '{{ loaded_stream }}' and first_day is not null
            and batch_id in (select batch_id from new_batches)
        {%- endif %}
        {%- endfor %}
        {%- for input in spec.get('compared_inputs', []) %}
        {%- set saved = replace_days_meta_table('incremental_saved__' ~ this.identifier ~ '__' ~ input) %}
        union
        -- {{ input }}: days whose rows differ from the copy saved at the last build
        {%- if saved is not none %}
        select date_day from (
            (select * from {{ ref(input) }} except all select * from {{ saved }})
            union all
            (select * from {{ saved }} except all select * from {{ ref(input) }})
        ) as changed_rows
        union
        select date_day from {{ ref(input) }} where (select every_day from rebuild_all)
        {%- else %}
        select date_day from {{ ref(input) }}
        {%- endif %}
        {%- endfor %}
    )

    select distinct '{{ key }}' as model, date_day
    from changed
    where date_day is not null;
    {%- endif %}
{%- endmacro %}


{# post-hook (same transaction as the build): what the table now reflects. #}
{% macro replace_days_save_state() -%}
    {%- set spec = replace_days_spec() -%}
    {%- set key = replace_days_model_key() -%}
    {%- set loaded_batches = replace_days_meta_table('loaded_batches') -%}
    delete from _funnelhouse.incremental_state where model = '{{ key }}';
    insert into _funnelhouse.incremental_state
    select '{{ key }}', {{ replace_days_fingerprint() }}, current_timestamp, {{ is_incremental() }};
    delete from _funnelhouse.incremental_batches where model = '{{ key }}';
    {%- if loaded_batches is not none %}
    insert into _funnelhouse.incremental_batches select '{{ key }}', batch_id from {{ loaded_batches }};
    {%- endif %}
    {%- for input in spec.get('compared_inputs', []) %}
    drop table if exists _funnelhouse.incremental_saved__{{ this.identifier }}__{{ input }};
    create table _funnelhouse.incremental_saved__{{ this.identifier }}__{{ input }} as
    select * from {{ ref(input) }};
    {%- endfor %}
{%- endmacro %}


{# The strategy: delete the changed days (rows of vanished days included), insert their new rows. #}
{% macro get_incremental_replace_days_sql(arg_dict) -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where date_day in ({{ replace_days_changed() }});

    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}
