-- A table: lifecycle, cohorts, KPIs and preferences read it; as a view each re-ranks every order.
{{ config(materialized='table') }}

with

orders as (
    select * from {{ ref('int_order_lines_totaled') }}
),

-- A purchase is an order that was not cancelled: a returned order still shows
-- the customer was there and buying, which is what lifecycle and cohorts track.
-- Revenue stays net (0 for returns), so money metrics are not inflated.
purchases as (
    select
        order_id,
        customer_key,
        ordered_at,
        order_date,
        channel,
        status,
        is_completed,
        net_revenue
    from orders
    where status <> 'cancelled'
),

sequenced as (
    select
        purchases.*,
        row_number() over (
            partition by customer_key order by ordered_at, order_id
        ) as purchase_number,
        lag(order_date) over (
            partition by customer_key order by ordered_at, order_id
        ) as previous_purchase_date,
        lead(order_date) over (
            partition by customer_key order by ordered_at, order_id
        ) as next_purchase_date
    from purchases
),

final as (
    select
        order_id,
        customer_key,
        ordered_at,
        order_date,
        channel,
        status,
        is_completed,
        net_revenue,
        cast(purchase_number as {{ dbt.type_bigint() }}) as purchase_number,
        previous_purchase_date,
        next_purchase_date,
        cast({{ dbt.datediff('previous_purchase_date', 'order_date', 'day') }} as {{ dbt.type_bigint() }})
            as days_since_previous_purchase,
        -- the customer had already counted as churned when this order came in
        coalesce(
            {{ dbt.datediff('previous_purchase_date', 'order_date', 'day') }} > {{ var('lifecycle_churn_days') }},
            false
        ) as is_reactivation
    from sequenced
)

select * from final
