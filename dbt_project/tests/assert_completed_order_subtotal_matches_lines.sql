-- A completed order's header subtotal must equal the sum of its lines (within
-- a cent of rounding): otherwise revenue by order and revenue by product
-- disagree in BI. Cancelled/returned orders are left out because their lines
-- may be re-delivered later than the status change.
with

orders as (
    select * from {{ ref('fct_orders') }}
),

final as (
    select
        order_id,
        subtotal_amount,
        lines_subtotal_amount,
        subtotal_amount - lines_subtotal_amount as difference_amount
    from orders
    where is_completed
      and abs(subtotal_amount - lines_subtotal_amount) > 0.01
)

select * from final
