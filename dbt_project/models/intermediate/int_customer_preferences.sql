-- A table: customer_360, nps_summary and its tests read it; as a view each re-joins every order line.
{{ config(materialized='table') }}

with

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
),

orders as (
    select * from {{ ref('int_order_lines_totaled') }}
),

products as (
    select * from {{ ref('stg_catalog__products') }}
),

purchases as (
    select * from {{ ref('int_customer_purchases') }}
),

-- Favourite = most units kept (completed orders); ties go to the higher spend,
-- then alphabetically, so the pick is stable between rebuilds.
category_units as (
    select
        orders.customer_key,
        products.category,
        sum(order_items.quantity) as units,
        sum(order_items.line_amount) as amount
    from order_items
    inner join orders
        on order_items.order_id = orders.order_id
    inner join products
        on order_items.product_id = products.product_id
    where orders.is_completed
    group by orders.customer_key, products.category
),

ranked_categories as (
    select
        category_units.*,
        row_number() over (
            partition by customer_key order by units desc, amount desc, category
        ) as category_rank
    from category_units
),

channel_orders as (
    select
        customer_key,
        channel,
        count(*) as purchase_count
    from purchases
    group by customer_key, channel
),

ranked_channels as (
    select
        channel_orders.*,
        row_number() over (
            partition by customer_key order by purchase_count desc, channel
        ) as channel_rank
    from channel_orders
),

customers as (
    select customer_key from ranked_categories
    union
    select customer_key from ranked_channels
),

final as (
    select
        customers.customer_key,
        ranked_categories.category as favourite_category,
        ranked_channels.channel as favourite_channel
    from customers
    left join ranked_categories
        on customers.customer_key = ranked_categories.customer_key
        and ranked_categories.category_rank = 1
    left join ranked_channels
        on customers.customer_key = ranked_channels.customer_key
        and ranked_channels.channel_rank = 1
)

select * from final
