-- Built after the dimension(s) it references, as facts are loaded after their dimensions: its
-- relationship tests then run in the same dbt invocation and gate everything downstream.
-- depends_on: {{ ref('dim_products') }}

{{
    config(
        materialized='incremental',
        unique_key='order_item_id',
        incremental_strategy=incremental_strategy_for_target(),
        on_schema_change='append_new_columns',
        tags=['delivery_partitioned']
    )
}}

{#- Incremental: see macros/incremental.sql. Every line of an order with a raw order or order
    line that is new since the last build (or delivered in the partition window) is recomputed,
    so a status update re-delivered later reaches its lines. -#}

with

{% if is_incremental() %}
changed_orders as (
    {{ changed_order_ids() }}
),
{% endif %}

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
    {% if is_incremental() %}
    where order_id in (select order_id from changed_orders)
    {% endif %}
),

orders as (
    select * from {{ ref('int_order_lines_totaled') }}
    {% if is_incremental() %}
    where order_id in (select order_id from changed_orders)
    {% endif %}
),

order_loads as (
    select order_id, _loaded_at as order_loaded_at
    from {{ ref('stg_shop__orders') }}
    {% if is_incremental() %}
    where order_id in (select order_id from changed_orders)
    {% endif %}
),

final as (
    select
        order_items.order_item_id,
        order_items.order_id,
        order_items.line_number,
        order_items.product_id,
        orders.customer_key,
        order_items.ordered_at,
        cast(order_items.ordered_at as date) as order_date,
        orders.status as order_status,
        orders.is_completed,
        order_items.quantity,
        order_items.unit_price,
        order_items.line_amount,
        -- the newest load time behind the line (its order or itself): the watermark of the next run
        case
            when order_loads.order_loaded_at > order_items._loaded_at then order_loads.order_loaded_at
            else order_items._loaded_at
        end as source_loaded_at
    from order_items
    -- an inner join: lines delivered before their header wait for it rather
    -- than showing up as sales without a buyer or a status
    inner join orders
        on order_items.order_id = orders.order_id
    inner join order_loads
        on order_items.order_id = order_loads.order_id
)

-- when this run wrote the row: a partitioned run's dbt tests read these (macros/tests_on_changed_rows.sql)
select *, {{ built_at() }} as _built_at from final
