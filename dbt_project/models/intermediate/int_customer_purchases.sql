-- Stored, not a view: lifecycle, cohorts, KPIs and preferences read it; as a view each re-ranks every
-- order. Incremental per customer on DuckDB (macros/incremental.sql): a customer's purchases are
-- numbered against each other, so a run renumbers every purchase of each customer with an order
-- the order-line totals rewrote since this table's last build, and replaces that customer's rows.
{{
    config(
        materialized=group_replacing_materialization(),
        unique_key='customer_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        tags=['delivery_partitioned'],
        pre_hook="{{ add_missing_watermark_column('_built_at') }}",
        post_hook="{{ delete_rows_of_orders_rebuilt_since(ref('int_order_lines_totaled')) }}"
    )
}}

with

{% if is_incremental() %}
-- The orders the order-line totals rewrote since this table's last build, their buyer now, and
-- their buyer before (an order re-delivered under another customer leaves that customer's
-- purchases to renumber too).
rebuilt_orders as (
    select order_id, customer_key
    from {{ ref('int_order_lines_totaled') }}
    where _built_at > {{ last_build_watermark('_built_at') }}
),

changed_customers as (
    select customer_key from rebuilt_orders
    union
    select previous.customer_key
    from {{ this }} as previous
    where previous.order_id in (select order_id from rebuilt_orders)
),
{% endif %}

orders as (
    select * from {{ ref('int_order_lines_totaled') }}
    {% if is_incremental() %}
    where customer_key in (select customer_key from changed_customers)
    {% endif %}
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

-- when this run wrote the row: a partitioned run's dbt tests read these (macros/tests_on_changed_rows.sql)
select *, {{ built_at() }} as _built_at from final
