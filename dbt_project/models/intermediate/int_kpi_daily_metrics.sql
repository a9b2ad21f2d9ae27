{{ config(materialized='table') }}

{%- set active_days = var('lifecycle_active_days') -%}
{%- set churn_days = var('lifecycle_churn_days') -%}

with

purchases as (
    select * from {{ ref('int_customer_purchases') }}
),

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

reference as (
    {{ reference_date_select() }}
),

counted as (
    select purchases.*
    from purchases
    cross join reference
    where purchases.order_date <= reference.reference_date
),

bounds as (
    select
        min(counted.order_date) as first_day,
        max(reference.reference_date) as last_day
    from counted
    cross join reference
),

numbers as (
    {{ integers(5) }}
),

days as (
    select cast({{ dbt.dateadd('day', 'numbers.n', 'bounds.first_day') }} as date) as date_day
    from bounds
    cross join numbers
    where numbers.n <= {{ dbt.datediff('bounds.first_day', 'bounds.last_day', 'day') }}
),

-- One row per customer and purchase day feeds both the day's customer counts and the
-- activity intervals below: plain group-bys over it instead of count(distinct) over every order.
customer_days as (
    select
        customer_key,
        order_date,
        count(*) as orders,
        sum(case when is_completed then 1 else 0 end) as completed_orders,
        sum(net_revenue) as net_revenue
    from counted
    group by customer_key, order_date
),

customer_firsts as (
    select
        customer_key,
        min(order_date) as first_purchase_date
    from customer_days
    group by customer_key
),

daily_orders as (
    select
        customer_days.order_date as date_day,
        sum(customer_days.orders) as orders,
        sum(customer_days.completed_orders) as completed_orders,
        sum(customer_days.net_revenue) as net_revenue,
        count(*) as purchasing_customers,
        sum(case when customer_firsts.first_purchase_date = customer_days.order_date then 1 else 0 end)
            as new_customers,
        sum(case when customer_firsts.first_purchase_date < customer_days.order_date then 1 else 0 end)
            as returning_customers
    from customer_days
    inner join customer_firsts
        on customer_days.customer_key = customer_firsts.customer_key
    group by customer_days.order_date
),

-- Active / not-churned status per customer is a set of day intervals that
-- start at a purchase day and end at the next purchase day or when the
-- threshold runs out; counting +1 / -1 at the ends and summing over days gives
-- the daily head counts without a days x customers join.
purchase_days as (
    select
        customer_key,
        order_date as purchase_date,
        lead(order_date) over (partition by customer_key order by order_date) as next_purchase_date
    from customer_days
),

intervals as (
    select
        purchase_date,
        next_purchase_date,
        cast({{ dbt.dateadd('day', active_days, 'purchase_date') }} as date) as active_until_exclusive,
        -- on this day days-since-purchase first exceeds the churn threshold
        cast({{ dbt.dateadd('day', churn_days + 1, 'purchase_date') }} as date) as churn_day
    from purchase_days
),

deltas as (
    select purchase_date as date_day, 1 as active_delta, 1 as base_delta, 0 as churn_events
    from intervals
    union all
    select
        case
            when next_purchase_date is not null and next_purchase_date < active_until_exclusive
                then next_purchase_date
            else active_until_exclusive
        end,
        -1, 0, 0
    from intervals
    union all
    select
        case
            when next_purchase_date is not null and next_purchase_date < churn_day then next_purchase_date
            else churn_day
        end,
        0, -1,
        case when next_purchase_date is null or next_purchase_date > churn_day then 1 else 0 end
    from intervals
),

daily_deltas as (
    select
        date_day,
        sum(active_delta) as active_delta,
        sum(base_delta) as base_delta,
        sum(churn_events) as churned_customers
    from deltas
    group by date_day
),

daily_nps as (
    select
        cast(responded_at as date) as date_day,
        count(*) as nps_responses,
        sum(case when nps_score >= 9 then 1 else 0 end) as nps_promoters,
        sum(case when nps_score <= 6 then 1 else 0 end) as nps_detractors
    from responses
    group by cast(responded_at as date)
),

running as (
    select
        days.date_day,
        sum(coalesce(daily_deltas.active_delta, 0)) over (
            order by days.date_day rows between unbounded preceding and current row
        ) as active_customers,
        sum(coalesce(daily_deltas.base_delta, 0)) over (
            order by days.date_day rows between unbounded preceding and current row
        ) as not_churned_customers,
        coalesce(daily_deltas.churned_customers, 0) as churned_customers
    from days
    left join daily_deltas
        on days.date_day = daily_deltas.date_day
),

final as (
    select
        running.date_day,
        cast(running.active_customers as {{ dbt.type_bigint() }}) as active_customers,
        cast(running.not_churned_customers as {{ dbt.type_bigint() }}) as not_churned_customers,
        -- the churn base is who could churn today: not churned at the end of yesterday
        cast(coalesce(lag(running.not_churned_customers) over (order by running.date_day), 0)
            as {{ dbt.type_bigint() }}) as churn_base_customers,
        cast(running.churned_customers as {{ dbt.type_bigint() }}) as churned_customers,
        cast(coalesce(daily_orders.orders, 0) as {{ dbt.type_bigint() }}) as orders,
        cast(coalesce(daily_orders.completed_orders, 0) as {{ dbt.type_bigint() }}) as completed_orders,
        cast(coalesce(daily_orders.net_revenue, 0) as {{ type_money() }}) as net_revenue,
        cast(coalesce(daily_orders.purchasing_customers, 0) as {{ dbt.type_bigint() }}) as purchasing_customers,
        cast(coalesce(daily_orders.new_customers, 0) as {{ dbt.type_bigint() }}) as new_customers,
        cast(coalesce(daily_orders.returning_customers, 0) as {{ dbt.type_bigint() }}) as returning_customers,
        cast(coalesce(daily_nps.nps_responses, 0) as {{ dbt.type_bigint() }}) as nps_responses,
        cast(coalesce(daily_nps.nps_promoters, 0) as {{ dbt.type_bigint() }}) as nps_promoters,
        cast(coalesce(daily_nps.nps_detractors, 0) as {{ dbt.type_bigint() }}) as nps_detractors
    from running
    left join daily_orders
        on running.date_day = daily_orders.date_day
    left join daily_nps
        on running.date_day = daily_nps.date_day
)

select * from final
