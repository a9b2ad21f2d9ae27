{#
    The day every "as of" mart (lifecycle, KPIs, customer 360) is computed at.
    Pinned to the data rather than to today so a rebuild of the same data gives
    the same answer: var `reference_date`, else the latest order day (all
    statuses: an order that day proves the data runs to it), the same default
    as customer_rfm.
    Returns a one-row select with column reference_date.
#}
{% macro reference_date_select() -%}
    {%- set pinned = var('reference_date', none) -%}
    {%- if pinned -%}
    select cast('{{ pinned }}' as date) as reference_date
    {%- else -%}
    select max(order_date) as reference_date
    from {{ ref('int_order_lines_totaled') }}
    {%- endif -%}
{%- endmacro %}


{#
    0 .. n-1 from cross-joined digits: portable (no generate_series) and cheap
    up to 10^digits rows. Used for date and month spines.
#}
{% macro integers(digits=5) -%}
    select
        {% for i in range(digits) -%}
        d{{ i }}.n * {{ 10 ** i }}{{ ' + ' if not loop.last }}
        {%- endfor %} as n
    from
        {% for i in range(digits) -%}
        (
            select 0 as n union all select 1 union all select 2 union all select 3 union all select 4
            union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
        ) as d{{ i }}{{ ',' if not loop.last }}
        {% endfor %}
{%- endmacro %}


{# Last day of the month that starts at month_start (a date). #}
{% macro month_end(month_start) -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, month_start)) }} as date)
{%- endmacro %}


{# ISO day of week, Monday = 1 .. Sunday = 7: every engine numbers days differently. #}
{% macro iso_day_of_week(column) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'customer_warehouse')(column)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(column) -%}
    cast(extract(isodow from {{ column }}) as {{ dbt.type_int() }})
{%- endmacro %}

{% macro duckdb__iso_day_of_week(column) -%}
    cast(isodow({{ column }}) as {{ dbt.type_int() }})
{%- endmacro %}

{% macro spark__iso_day_of_week(column) -%}
    cast(((dayofweek({{ column }}) + 5) % 7) + 1 as int)
{%- endmacro %}
