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

sales as (
    select
        order_items.product_id,
        min(orders.order_date) as first_ordered_date,
        max(orders.order_date) as last_ordered_date,
        sum(case when orders.is_completed then order_items.quantity else 0 end) as units_sold,
        count(distinct case when orders.is_completed then orders.order_id end) as completed_order_count
    from order_items
    inner join orders
        on order_items.order_id = orders.order_id
    group by order_items.product_id
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
        cast(coalesce(sales.completed_order_count, 0) as {{ dbt.type_bigint() }}) as completed_order_count,
        products.updated_at
    from products
    left join sales
        on products.product_id = sales.product_id
)

select * from final
