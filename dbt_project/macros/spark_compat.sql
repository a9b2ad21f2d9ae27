{#
    Spark only: what the project needs from dbt-spark beyond the cross-database
    macros. Nothing here runs on DuckDB.
#}

{#
    Contracts name column types the way DuckDB and most warehouses spell them
    (varchar). Spark SQL accepts varchar only with a length, and a length would
    truncate, so the contract's empty-schema probe casts to string instead; the
    comparison with the model's columns then sees string on both sides.
#}
{% macro spark__get_empty_schema_sql(columns) -%}
    {%- set translated = {} -%}
    {%- for name in columns -%}
        {%- set column = columns[name] -%}
        {%- set data_type = column.get('data_type') -%}
        {%- if data_type is not none and data_type.strip().lower() in ('varchar', 'text') -%}
            {%- set column = column.copy() -%}
            {%- do column.update({'data_type': 'string'}) -%}
        {%- endif -%}
        {%- do translated.update({name: column}) -%}
    {%- endfor -%}
    {{ return(default__get_empty_schema_sql(translated)) }}
{%- endmacro %}


{#
    The incremental facts ask for `merge`, which Spark can only do on a table
    format with row-level updates (Delta, Iceberg, Hudi). A plain Parquet
    warehouse (the local test session: no Delta jars without Maven) still gets
    the first build and --full-refresh, which replace the whole table; an
    incremental run there would have to append and double-count, so it stops
    with an explanation instead. Replaces dbt-spark's validation of the same name.
#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) %}
    {%- set transactional = ['delta', 'iceberg', 'hudi'] -%}
    {%- if raw_strategy not in ['append', 'merge', 'insert_overwrite', 'microbatch'] -%}
        {% do exceptions.raise_compiler_error("Invalid incremental strategy provided: " ~ raw_strategy) %}
    {%- endif -%}
    {%- if raw_strategy in ['insert_overwrite', 'microbatch'] and target.endpoint -%}
        {% do exceptions.raise_compiler_error("Strategy " ~ raw_strategy ~ " is not available through a SQL endpoint") %}
    {%- endif -%}
    {%- if raw_strategy == 'merge' and file_format not in transactional -%}
        {%- set existing = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) -%}
        {%- if existing is not none and not existing.is_view and not should_full_refresh() -%}
            {% do exceptions.raise_compiler_error(
                "Model " ~ this ~ " is incremental with strategy merge, which needs file_format delta, iceberg or hudi; "
                ~ "this Spark warehouse stores " ~ file_format ~ ". Rebuild it with --full-refresh, or set "
                ~ "+file_format: delta for the spark target (docs/scaling_out.md).") %}
        {%- endif -%}
        {#- first build or full refresh: the table is created from the full query, no merge runs -#}
        {% do return('append') %}
    {%- endif -%}
    {% do return(raw_strategy) %}
{% endmacro %}


{#
    Seeds on the `session` method: dbt-spark pastes each binding into the SQL
    between quotes without escaping, so a value like "PEOPLE'S REPUBLIC OF
    CHINA" or "Can't Lose Them" breaks the insert, and an empty cell would
    arrive as the text 'None'. Literals are written here instead: backslash
    escapes (Spark's string syntax), null for empty cells. Plain literals are
    valid SQL on every connection method, so all of them use this.
#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
            ({%- for col_name in agate_table.column_names -%}
                {%- set column_type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
                cast({{ spark_seed_literal(row[loop.index0]) }} as {{ column_type }}){{ ',' if not loop.last }}
            {%- endfor -%}){{ ',' if not loop.last }}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}


{% macro spark_seed_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is sameas true or value is sameas false -%}
        {{ 'true' if value else 'false' }}
    {%- else -%}
        '{{ (value | string).replace("\\", "\\\\").replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
