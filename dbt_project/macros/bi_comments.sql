{#
    Post-hook of the bi views: each view and column carries, as a database comment, the
    description its mart declares in the marts YAML, so a BI tool's column browser shows what
    a column means and the text is written once. Publish copies the comments with the views.
#}
{% macro bi_comments() -%}
    {%- if execute -%}
        {%- set mart = graph.nodes[model.depends_on.nodes[0]] -%}
        comment on view {{ this }} is {{ bi_quote(mart.description | trim) }};
        {%- for column in adapter.get_columns_in_relation(this) %}
            {%- set documented = mart.columns.get(column.name) %}
            {%- if documented and documented.description %}
        comment on column {{ this }}.{{ adapter.quote(column.name) }} is {{ bi_quote(documented.description | trim) }};
            {%- endif %}
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}

{% macro bi_quote(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}
