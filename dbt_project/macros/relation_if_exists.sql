{#
    The relation of a declared source if the table exists right now, else none.
    For sources written outside dbt (the ML tables) that may not exist yet on a
    first run. Calling source() keeps the dependency in the DAG either way.
#}
{% macro relation_if_exists(source_name, table_name) -%}
    {%- set declared = source(source_name, table_name) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(database=declared.database, schema=declared.schema, identifier=declared.identifier)) }}
{%- endmacro %}
