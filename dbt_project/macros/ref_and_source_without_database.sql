{#
    Render ref() and source() as schema.table, without the DuckDB catalog name.
    DuckDB stores a view's SQL as written and names a file's catalog after the file
    (or the ATTACH alias): a view compiled as "build"."staging"."x" breaks in a copied
    or renamed file, or one attached under another alias. Without the catalog, a view
    resolves in the file that holds it.
#}
{% macro ref() %}
    {%- set relation = builtins.ref(*varargs, **kwargs) -%}
    {{ return(relation.include(database=false)) }}
{% endmacro %}

{% macro source(source_name, table_name) %}
    {%- set relation = builtins.source(source_name, table_name) -%}
    {{ return(relation.include(database=false)) }}
{% endmacro %}
