-- Stored, not a view: customer_360, nps_summary and its tests read it; as a view each re-joins every
-- order line. Incremental per customer on DuckDB (macros/incremental.sql), so a daily run re-ranks the
-- customers whose purchases or bought products changed, not all of them: those int_customer_purchases
-- rewrote since this table's last build, and the buyers of a product the catalogue delivered since, if it
-- is new or has ever had another category (a price change alone moves no favourite). A customer left
-- without purchases loses the row (post-hook).
{{
    config(
        materialized=group_replacing_materialization(),
        unique_key='customer_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        pre_hook=["{{ add_missing_watermark_column('_built_at') }}",
                  "{{ add_missing_watermark_column('_catalog_loaded_at') }}"],
        post_hook="{{ delete_rows_of_customers_without_purchases(ref('int_customer_purchases')) }}"
    )
}}

{#- without stamped rows to build on (first incremental run over an older table) the plain full select is cheaper -#}
{%- set incremental_run = builds_on_stored_rows('_built_at') %}

with

{% if incremental_run %}
changed_customers as (
    select customer_key
    from {{ ref('int_customer_purchases') }}
    where _built_at > {{ last_build_watermark('_built_at') }}
    union
    select orders.customer_key
    from {{ ref('stg_shop__order_items') }} as order_items
    inner join {{ ref('int_order_lines_totaled') }} as orders
        on order_items.order_id = orders.order_id
    where order_items.product_id in (
        select product_id
        from {{ ref('stg_catalog__products') }}
        where _loaded_at > {{ last_build_watermark('_catalog_loaded_at') }}
            and (has_changed_category or first_loaded_at > {{ last_build_watermark('_catalog_loaded_at') }})
    )
),
{% endif %}

orders as (
    select * from {{ ref('int_order_lines_totaled') }}
    {% if incremental_run %}
    where customer_key in (select customer_key from changed_customers)
    {% endif %}
),

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
    {% if incremental_run %}
    where order_id in (select order_id from orders)
    {% endif %}
),

products as (
    select * from {{ ref('stg_catalog__products') }}
),

purchases as (
    select * from {{ ref('int_customer_purchases') }}
    {% if incremental_run %}
    where customer_key in (select customer_key from changed_customers)
    {% endif %}
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

-- _built_at: when this run wrote the row; _catalog_loaded_at: the newest catalogue load it ranked with
select
    final.*,
    {{ built_at() }} as _built_at,
    (select max(_loaded_at) from {{ ref('stg_catalog__products') }}) as _catalog_loaded_at
from final
