-- fct_order_items and fct_orders are built from different paths (lines vs. the
-- order-level rollup); their totals per order must agree or one of the joins
-- dropped or duplicated lines.
with

items as (
    select
        order_id,
        sum(line_amount) as items_amount,
        count(*) as items_count
    from {{ ref('fct_order_items') }}
    group by order_id
),

orders as (
    select * from {{ ref('fct_orders') }}
),

final as (
    select
        orders.order_id,
        orders.line_count,
        items.items_count,
        orders.lines_subtotal_amount,
        items.items_amount
    from orders
    left join items
        on orders.order_id = items.order_id
    where coalesce(items.items_count, 0) <> orders.line_count
       or coalesce(items.items_amount, 0) <> orders.lines_subtotal_amount
)

select * from final
