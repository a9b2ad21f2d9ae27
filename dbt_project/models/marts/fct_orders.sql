with

orders as (
    select * from {{ ref('int_order_lines_totaled') }}
),

final as (
    select
        order_id,
        customer_id,
        ordered_at,
        order_date,
        channel,
        status,
        is_completed,
        is_cancelled,
        is_returned,
        subtotal_amount,
        discount_amount,
        shipping_amount,
        total_amount,
        net_revenue,
        line_count,
        item_quantity,
        lines_subtotal_amount,
        is_subtotal_reconciled,
        updated_at as status_updated_at
    from orders
)

select * from final
