{#
    The warehouse has a fixed set of schemas (raw, staging, intermediate, marts,
    ml, quality) that Dagster, the expectation suites and BI all address by name,
    so a node's custom schema is used verbatim instead of dbt's
    "<target_schema>_<custom>" default.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
