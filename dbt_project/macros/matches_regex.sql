{#
    True when the whole value matches the pattern (anchor it with ^...$). For format tests
    on restricted staging columns. Write patterns without backslashes (use [.] for a dot):
    Spark's string literals would eat them.
#}
{% macro matches_regex(column, pattern) -%}
    {{ return(adapter.dispatch('matches_regex', 'customer_warehouse')(column, pattern)) }}
{%- endmacro %}

{# Trino, Snowflake, Oracle #}
{% macro default__matches_regex(column, pattern) -%}
    regexp_like({{ column }}, '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__matches_regex(column, pattern) -%}
    regexp_matches({{ column }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__matches_regex(column, pattern) -%}
    {{ column }} rlike '{{ pattern }}'
{%- endmacro %}
