-- Built after the dimension(s) it references, as facts are loaded after their dimensions: its
-- relationship tests then run in the same dbt invocation and gate everything downstream.
-- depends_on: {{ ref('dim_customers') }}

{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy=incremental_strategy_for_target(),
        on_schema_change='append_new_columns',
        tags=['delivery_partitioned']
    )
}}

{#- Incremental: see macros/incremental.sql. Orders with a raw order or order line that is new
    since the last build (or delivered in the partition window) are recomputed. -#}

with

{% if is_incremental() %}
changed_orders as (
    {{ changed_order_ids() }}
),
{% endif %}

orders as (
    select * from {{ ref('int_order_lines_totaled') }}
    {% if is_incremental() %}
    where order_id in (select order_id from changed_orders)
    {% endif %}
),

final as (
    select
        orders.order_id,
        orders.customer_key,
        orders.ordered_at,
        orders.order_date,
        orders.channel,
        orders.status,
        orders.is_completed,
        orders.is_cancelled,
        orders.is_returned,
        orders.subtotal_amount,
        orders.discount_amount,
        orders.shipping_amount,
        orders.total_amount,
        orders.net_revenue,
        orders.line_count,
        orders.item_quantity,
        orders.lines_subtotal_amount,
        orders.is_subtotal_reconciled,
        orders.updated_at as status_updated_at,
        -- the newest load time behind the order (header or lines): the watermark of the next run
        orders.source_loaded_at
    from orders
)

-- when this run wrote the row: a partitioned run's dbt tests read these (macros/tests_on_changed_rows.sql)
select *, {{ built_at() }} as _built_at from final
