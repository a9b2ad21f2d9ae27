{#
    Attach a raw layer kept as Parquet files to the warehouse, so DuckDB and
    Spark build from the same bytes. Layout (what ingest's export writes):
        <raw_dir>/<table>/*.parquet      one folder per raw source table
    Every source declared in schema raw is registered, and the pseudonym map
    (source pseudonyms, schema staging) the same way: a view over the files on
    DuckDB, an external table (metadata only, the files stay put) on Spark.
    Run with: dbt run-operation register_raw_parquet --args '{raw_dir: /abs/path}'
#}
{% macro register_raw_parquet(raw_dir) -%}
    {%- set tables = [] -%}
    {%- for node in graph.sources.values() if node.schema == 'raw' or node.source_name == 'pseudonyms' -%}
        {%- do tables.append((node.schema, node.identifier)) -%}
    {%- endfor -%}
    {%- for schema, table in tables | sort -%}
        {%- do run_query(adapter.dispatch('raw_parquet_table_sql', 'customer_warehouse')(schema, table, raw_dir ~ '/' ~ table)) -%}
    {%- endfor -%}
    {{ log('registered ' ~ (tables | length) ~ ' raw tables from ' ~ raw_dir, info=true) }}
{%- endmacro %}

{% macro default__raw_parquet_table_sql(schema, table, folder) -%}
    {%- do run_query('create schema if not exists ' ~ schema) -%}
    create or replace view {{ schema }}.{{ table }} as select * from read_parquet('{{ folder }}/*.parquet')
{%- endmacro %}

{% macro spark__raw_parquet_table_sql(schema, table, folder) -%}
    {%- do run_query('create database if not exists ' ~ schema) -%}
    {%- do run_query('drop table if exists ' ~ schema ~ '.' ~ table) -%}
    create table {{ schema }}.{{ table }} using parquet location '{{ folder }}'
{%- endmacro %}
