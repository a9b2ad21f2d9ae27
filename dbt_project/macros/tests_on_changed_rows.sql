{#
  dbt tests of a partitioned run check the rows that run wrote, not the whole history.

  The incremental models (tag delivery_partitioned) stamp every row they write with the run's
  start (column _built_at, macro built_at). A daily run rewrites a few thousand rows of tables
  with tens of millions, and every earlier row was tested by the run that wrote it, so testing
  those again each day costs the most and finds nothing new.

  Overrides dbt's get_where_subquery, the macro every generic test wraps its `model` argument
  in. A test is limited when all of these hold:
    * the run has a delivery window (vars delivery_date_from / delivery_date_to: the daily
      partition or a backfill) and var test_every_row is not set: an unpartitioned build,
      `make run` and a run with `test_every_row` (DbtBuildConfig) test every row;
    * every model the test reads is incremental. A relationships test from a fact to
      dim_customers reads a table rebuilt whole each run, whose changes can orphan old rows,
      so it keeps checking all of them.
  Then the test reads the rows with the newest _built_at. Uniqueness tests read every row
  whose key is among those, so a new row colliding with an old one is still caught.
  A `where` set on the test itself still applies, combined with AND.
#}

{% macro built_at() -%}
    {{ dbt.cast("'" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "'", dbt.type_timestamp()) }}
{%- endmacro %}


{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set changed = changed_rows_condition(relation) -%}
    {%- if changed -%}
        {%- do conditions.append(changed) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}


{# True when this run's tests check only what the run wrote: it has a delivery window and no test_every_row. #}
{% macro tests_read_newest_writes_only() -%}
    {{ return(execute and var('delivery_date_from', none) and not var('test_every_row', false)) }}
{%- endmacro %}


{# SQL predicate over `relation`: the row is among those its newest build wrote (column _built_at). Singular
   tests over incremental models use it where tests_read_newest_writes_only(). #}
{% macro written_by_newest_build(relation) -%}
    _built_at = (select max(_built_at) from {{ relation }})
{%- endmacro %}


{# The predicate limiting the running test to the rows its run wrote, or '' to test every row. #}
{% macro changed_rows_condition(relation) -%}
    {%- if not tests_read_newest_writes_only() -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set read_nodes = model.get('depends_on', {}).get('nodes', []) -%}
    {%- for node_id in read_nodes -%}
        {%- set node = graph.nodes.get(node_id) -%}
        {%- if node is none or node.resource_type != 'model'
               or node.config.materialized != 'incremental'
               or 'delivery_partitioned' not in node.tags -%}
            {%- do return('') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not read_nodes -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set newest = written_by_newest_build(relation) -%}
    {%- set test = model.get('test_metadata') or {} -%}
    {%- set kwargs = test.get('kwargs', {}) -%}
    {%- if test.get('name') == 'unique' -%}
        {%- set keys = [kwargs.get('column_name')] -%}
    {%- elif test.get('name') == 'unique_combination_of_columns' -%}
        {%- set keys = kwargs.get('combination_of_columns') -%}
    {%- else -%}
        {%- do return(newest) -%}
    {%- endif -%}
    {%- set key_list = keys | join(', ') -%}
    {%- do return('(' ~ key_list ~ ') in (select ' ~ key_list ~ ' from ' ~ relation ~ ' where ' ~ newest ~ ')') -%}
{%- endmacro %}
