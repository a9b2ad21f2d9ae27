{#
  Incremental facts (fct_orders, fct_order_items): which keys to recompute.

  A run recomputes every key that has a raw row
    * loaded after the newest load time already in the target (the watermark), so a daily
      run merges exactly what the ingest loaded since the last successful dbt build, and a
      run killed before dbt finished is caught up by the next one; or
    * delivered in the landing folders of the partition window, when Dagster passes one
      (vars delivery_date_from / delivery_date_to, YYYY-MM-DD, from a partitioned run or
      a backfill), so re-running a partition recomputes its rows.
  Recomputed keys read their full history from staging (which keeps the latest version
  of each key across all deliveries), so late files and status updates re-delivered
  later replace the old rows. `--full-refresh` rebuilds from all of raw.

  Strategy: delete+insert on DuckDB, merge elsewhere (Spark: needs a Delta/Iceberg/Hudi
  file_format). Both are keyed by the model's unique_key.
#}

{% macro incremental_strategy_for_target() -%}
    {{ return('delete+insert' if target.type == 'duckdb' else 'merge') }}
{%- endmacro %}


{% macro delivery_date_of(source_file_column) -%}
    {{ dbt.split_part(source_file_column, "'/'", 2) }}
{%- endmacro %}


{# SQL predicate over raw rows (columns _loaded_at, _source_file): the rows this run must process. #}
{% macro changed_raw_rows(watermark_column='source_loaded_at') -%}
    (
        _loaded_at > (
            select coalesce(max({{ watermark_column }}), cast('1900-01-01 00:00:00' as {{ dbt.type_timestamp() }}))
            from {{ this }}
        )
        {%- set date_from = var('delivery_date_from', none) %}
        {%- set date_to = var('delivery_date_to', none) or date_from %}
        {%- if date_from %}
        or {{ delivery_date_of('_source_file') }} between '{{ date_from }}' and '{{ date_to }}'
        {%- endif %}
    )
{%- endmacro %}
