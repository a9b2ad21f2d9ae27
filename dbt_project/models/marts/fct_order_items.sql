with

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
),

orders as (
    select * from {{ ref('int_order_lines_totaled') }}
),

final as (
    select
        order_items.order_item_id,
        order_items.order_id,
        order_items.line_number,
        order_items.product_id,
        orders.customer_id,
        order_items.ordered_at,
        cast(order_items.ordered_at as date) as order_date,
        orders.status as order_status,
        orders.is_completed,
        order_items.quantity,
        order_items.unit_price,
        order_items.line_amount
    from order_items
    -- an inner join: lines delivered before their header wait for it rather
    -- than showing up as sales without a buyer or a status
    inner join orders
        on order_items.order_id = orders.order_id
)

select * from final
