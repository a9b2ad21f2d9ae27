{#
    The CRM versions dim_customers_history is built from: the snapshot
    snap_crm__customers, except on a Spark warehouse of plain Parquet files,
    where dbt cannot snapshot (no row-level merge) and the snapshot is disabled.
    There the versions are the current staging rows with the columns a first
    snapshot build would give them (valid from updated_at, still valid, scd id
    hashed from key and updated_at), so every model and test downstream runs the
    same and a first build matches DuckDB's; history across builds needs Delta.
#}
{% macro crm_customer_versions() -%}
    {{ return(adapter.dispatch('crm_customer_versions', 'customer_warehouse')()) }}
{%- endmacro %}

{% macro default__crm_customer_versions() -%}
    {{ ref('snap_crm__customers') }}
{%- endmacro %}

{% macro spark__crm_customer_versions() -%}
    {%- if env_var('DBT_SPARK_FILE_FORMAT', 'parquet') in ['delta', 'iceberg', 'hudi'] -%}
        {{ ref('snap_crm__customers') }}
    {%- else -%}
    (
        select
            customers.*,
            {{ snapshot_hash_arguments(['customers.customer_key', 'customers.updated_at']) }} as customer_version_id,
            customers.updated_at as version_updated_at,
            customers.updated_at as valid_from,
            cast(null as timestamp) as valid_to
        from {{ ref('int_customer_profiles') }} as customers
    )
    {%- endif -%}
{%- endmacro %}
