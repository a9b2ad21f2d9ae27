with

customers as (
    select * from {{ ref('dim_customers') }}
),

purchases as (
    select * from {{ ref('int_customer_purchases') }}
),

reference as (
    {{ reference_date_select() }}
),

bounds as (
    select
        cast({{ dbt.date_trunc('month', 'min(purchases.order_date)') }} as date) as first_month,
        cast({{ dbt.date_trunc('month', 'max(reference.reference_date)') }} as date) as last_month,
        max(reference.reference_date) as reference_date
    from purchases
    cross join reference
),

numbers as (
    {{ integers(3) }}
),

-- The last month is usually partial: its stage is taken at the reference date,
-- not at a month end that has not happened yet.
months as (
    select
        cast({{ dbt.dateadd('month', 'numbers.n', 'bounds.first_month') }} as date) as month_start,
        bounds.reference_date
    from bounds
    cross join numbers
    where numbers.n <= {{ dbt.datediff('bounds.first_month', 'bounds.last_month', 'month') }}
),

month_ends as (
    select
        month_start,
        case
            when {{ month_end('month_start') }} < reference_date then {{ month_end('month_start') }}
            else reference_date
        end as stage_date
    from months
),

monthly_purchases as (
    select
        customer_key,
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as month_start,
        min(order_date) as first_purchase_in_month,
        max(order_date) as last_purchase_in_month,
        max(case when is_reactivation then order_date end) as last_reactivation_in_month,
        count(*) as purchases_in_month,
        sum(net_revenue) as net_revenue_in_month
    from purchases
    group by customer_key, cast({{ dbt.date_trunc('month', 'order_date') }} as date)
),

-- A customer enters the grid at the month of signup (or the first month when
-- the signup is older than the data).
grid as (
    select
        customers.customer_key,
        month_ends.month_start,
        month_ends.stage_date
    from customers
    cross join month_ends
    where customers.signup_date <= month_ends.stage_date
),

accumulated as (
    select
        grid.customer_key,
        grid.month_start,
        grid.stage_date,
        coalesce(monthly_purchases.purchases_in_month, 0) as purchases_in_month,
        coalesce(monthly_purchases.net_revenue_in_month, 0) as net_revenue_in_month,
        min(monthly_purchases.first_purchase_in_month) over (
            partition by grid.customer_key order by grid.month_start
            rows between unbounded preceding and current row
        ) as first_purchase_date,
        max(monthly_purchases.last_purchase_in_month) over (
            partition by grid.customer_key order by grid.month_start
            rows between unbounded preceding and current row
        ) as last_purchase_date,
        max(monthly_purchases.last_reactivation_in_month) over (
            partition by grid.customer_key order by grid.month_start
            rows between unbounded preceding and current row
        ) as last_reactivation_date
    from grid
    left join monthly_purchases
        on grid.customer_key = monthly_purchases.customer_key
        and grid.month_start = monthly_purchases.month_start
),

staged as (
    select
        accumulated.*,
        {{ lifecycle_stage('first_purchase_date', 'last_purchase_date', 'last_reactivation_date', 'stage_date') }}
            as lifecycle_stage
    from accumulated
),

final as (
    select
        {{ dbt.concat(['customer_key', "'-'", dbt.safe_cast('month_start', dbt.type_string())]) }} as customer_month_id,
        customer_key,
        month_start,
        stage_date,
        cast(purchases_in_month as {{ dbt.type_bigint() }}) as purchases_in_month,
        cast(net_revenue_in_month as {{ type_money() }}) as net_revenue_in_month,
        first_purchase_date,
        last_purchase_date,
        lifecycle_stage,
        lag(lifecycle_stage) over (partition by customer_key order by month_start) as previous_stage
    from staged
)

select * from final
