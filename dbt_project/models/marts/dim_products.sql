-- Built with the facts that reference it, in the partitioned dbt asset (one dbt invocation with staging).
{{ config(tags=['delivery_partitioned']) }}
with

products as (
    select * from {{ ref('stg_catalog__products') }}
),

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
),

orders as (
    select * from {{ ref('int_order_lines_totaled') }}
),

-- An order counts once per product even when two of its lines carry that product. Most orders carry
-- each product once (their distinct product count equals their line count), so their lines are
-- counted as they are; only the orders with a repeated product need a distinct count. A distinct
-- count over every line was the most expensive part of the model (a 21M-pair hash at bench scale L).
lines as (
    select
        order_items.product_id,
        order_items.quantity,
        orders.order_id,
        orders.order_date,
        orders.is_completed,
        orders.distinct_product_count < orders.line_count as order_repeats_a_product
    from order_items
    inner join orders
        on order_items.order_id = orders.order_id
),

sales as (
    select
        product_id,
        min(order_date) as first_ordered_date,
        max(order_date) as last_ordered_date,
        sum(case when is_completed then quantity else 0 end) as units_sold,
        count(case when is_completed and not order_repeats_a_product then 1 end) as completed_orders_of_distinct_lines
    from lines
    group by product_id
),

repeated_product_orders as (
    select
        product_id,
        count(distinct order_id) as completed_order_count
    from lines
    where is_completed and order_repeats_a_product
    group by product_id
),

final as (
    select
        products.product_id,
        products.product_name,
        products.category,
        products.brand,
        products.list_price,
        sales.first_ordered_date,
        sales.last_ordered_date,
        cast(coalesce(sales.units_sold, 0) as {{ dbt.type_bigint() }}) as units_sold,
        cast(
            coalesce(sales.completed_orders_of_distinct_lines, 0)
            + coalesce(repeated_product_orders.completed_order_count, 0)
            as {{ dbt.type_bigint() }}
        ) as completed_order_count,
        products.updated_at
    from products
    left join sales
        on products.product_id = sales.product_id
    left join repeated_product_orders
        on products.product_id = repeated_product_orders.product_id
)

select * from final
