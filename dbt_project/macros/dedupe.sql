{#
    Raw keeps every delivery of a record; staging keeps one row per natural key.
    Ties on the business version column are broken by the load metadata, newest
    load first, so the choice is deterministic even between exact duplicates.
    Returns a full select; the helper column _dedupe_rank is left for the caller
    to drop by selecting explicit columns.
#}
{% macro dedupe_latest(relation, partition_by, order_by=[]) -%}
    {{ return(adapter.dispatch('dedupe_latest', 'customer_warehouse')(relation, partition_by, order_by)) }}
{%- endmacro %}


{% macro default__dedupe_latest(relation, partition_by, order_by=[]) -%}
    {{ ranked_latest(relation, partition_by, order_by) }}
{%- endmacro %}


{# The window itself: rank each key's rows (of those meeting `condition`, if given), keep the first. #}
{% macro ranked_latest(relation, partition_by, order_by=[], condition=none) -%}
    {%- set ordering = order_by + latest_load_first() -%}
    select *
    from (
        select
            *,
            row_number() over (
                partition by {{ partition_by | join(', ') }}
                order by {{ ordering | join(', ') }}
            ) as _dedupe_rank
        from {{ relation }}
        {%- if condition %}
        where {{ condition }}
        {%- endif %}
    ) as ranked
    where _dedupe_rank = 1
{%- endmacro %}


{#
    DuckDB: the same rows, but only the keys delivered more than once go through the window.
    A window over all of raw sorts every row with all its columns, though almost every key
    comes once and is its own latest version (in the L full build, stg_web__events took 799
    of dbt's 2,039 model-seconds). Counting the keys is a narrow hash aggregate; keys compare
    null-safely, as the window's partitions group nulls together.
#}
{% macro duckdb__dedupe_latest(relation, partition_by, order_by=[]) -%}
    {%- set same_key_list = [] -%}
    {%- for key in partition_by -%}
        {%- do same_key_list.append('repeated._dedupe_key_' ~ loop.index ~ ' is not distinct from ' ~ key) -%}
    {%- endfor -%}
    {%- set same_key = same_key_list | join(' and ') %}
    with repeated as (
        select
            {%- for key in partition_by %}
            {{ key }} as _dedupe_key_{{ loop.index }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ relation }}
        group by all
        having count(*) > 1
    )

    select *, cast(1 as bigint) as _dedupe_rank
    from {{ relation }}
    where not exists (select 1 from repeated where {{ same_key }})

    union all

    {{ ranked_latest(relation, partition_by, order_by,
                     'exists (select 1 from repeated where ' ~ same_key ~ ')') }}
{%- endmacro %}


{% macro latest_load_first() -%}
    {{ return(['_loaded_at desc', '_source_file desc', '_source_row desc']) }}
{%- endmacro %}
