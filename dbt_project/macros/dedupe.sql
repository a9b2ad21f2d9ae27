{#
    Raw keeps every delivery of a record; staging keeps one row per natural key.
    Ties on the business version column are broken by the load metadata, newest
    load first, so the choice is deterministic even between exact duplicates.
    Returns a full select; the helper column _dedupe_rank is left for the caller
    to drop by selecting explicit columns.
#}
{% macro dedupe_latest(relation, partition_by, order_by=[]) -%}
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
    ) as ranked
    where _dedupe_rank = 1
{%- endmacro %}


{% macro latest_load_first() -%}
    {{ return(['_loaded_at desc', '_source_file desc', '_source_row desc']) }}
{%- endmacro %}
