-- Stored, not a view: six models and int_customer_purchases read it; as a view every one of them
-- re-joins all order lines (at 1M customers, the dbt tests alone spent minutes re-deriving it).
-- Incremental (macros/incremental.sql), like the order facts: a run recomputes the orders with a raw
-- order or order line loaded since the last build (or delivered in the partition window) from their
-- current header and all their lines. Lines delivered before their header wait for it (no row).
{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy=incremental_strategy_for_target(),
        on_schema_change='append_new_columns',
        tags=['delivery_partitioned'],
        pre_hook="{{ add_missing_watermark_column('source_loaded_at') }}"
    )
}}

with

{% if is_incremental() %}
changed_orders as (
    {{ changed_order_ids() }}
),
{% endif %}

orders as (
    select * from {{ ref('stg_shop__orders') }}
    {% if is_incremental() %}
    where order_id in (select order_id from changed_orders)
    {% endif %}
),

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
    {% if is_incremental() %}
    where order_id in (select order_id from changed_orders)
    {% endif %}
),

line_totals as (
    select
        order_id,
        count(*) as line_count,
        sum(quantity) as item_quantity,
        count(distinct product_id) as distinct_product_count,
        sum(line_amount) as lines_subtotal_amount,
        max(_loaded_at) as lines_loaded_at
    from order_items
    group by order_id
),

joined as (
    select
        orders.order_id,
        orders.customer_key,
        orders.ordered_at,
        orders.order_date,
        orders.channel,
        orders.status,
        orders.subtotal_amount,
        orders.discount_amount,
        orders.shipping_amount,
        orders.total_amount,
        orders.updated_at,
        coalesce(line_totals.line_count, 0) as line_count,
        coalesce(line_totals.item_quantity, 0) as item_quantity,
        coalesce(line_totals.distinct_product_count, 0) as distinct_product_count,
        coalesce(line_totals.lines_subtotal_amount, 0) as lines_subtotal_amount,
        -- the newest load time behind the order (header or lines): the watermark of the next run
        case
            when line_totals.lines_loaded_at > orders._loaded_at then line_totals.lines_loaded_at
            else orders._loaded_at
        end as source_loaded_at
    from orders
    left join line_totals
        on orders.order_id = line_totals.order_id
),

final as (
    select
        order_id,
        customer_key,
        ordered_at,
        order_date,
        channel,
        status,
        status = 'completed' as is_completed,
        status = 'cancelled' as is_cancelled,
        status = 'returned' as is_returned,
        subtotal_amount,
        discount_amount,
        shipping_amount,
        total_amount,
        -- Revenue only counts when the order was kept: cancelled orders never
        -- shipped and returned ones were refunded. Shipping is pass-through.
        cast(
            case when status = 'completed' then subtotal_amount - discount_amount else 0 end
            as {{ type_money() }}
        ) as net_revenue,
        cast(line_count as {{ dbt.type_bigint() }}) as line_count,
        cast(item_quantity as {{ dbt.type_bigint() }}) as item_quantity,
        cast(distinct_product_count as {{ dbt.type_bigint() }}) as distinct_product_count,
        cast(lines_subtotal_amount as {{ type_money() }}) as lines_subtotal_amount,
        cast(subtotal_amount - lines_subtotal_amount as {{ type_money() }}) as subtotal_difference_amount,
        -- a cent of tolerance: feeds round each line, the header rounds the sum
        abs(subtotal_amount - lines_subtotal_amount) <= 0.01 as is_subtotal_reconciled,
        updated_at,
        source_loaded_at
    from joined
)

-- when this run wrote the row: a partitioned run's dbt tests read these (macros/tests_on_changed_rows.sql)
select *, {{ built_at() }} as _built_at from final
