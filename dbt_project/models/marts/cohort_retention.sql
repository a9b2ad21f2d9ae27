with

purchases as (
    select * from {{ ref('int_customer_purchases') }}
),

reference as (
    {{ reference_date_select() }}
),

counted as (
    select
        purchases.customer_key,
        purchases.order_date,
        purchases.purchase_number,
        purchases.net_revenue,
        cast({{ dbt.date_trunc('month', 'purchases.order_date') }} as date) as activity_month
    from purchases
    cross join reference
    where purchases.order_date <= reference.reference_date
),

-- The acquisition cohort is the month of the first purchase seen in the data;
-- customers who bought before the data starts land in its first month.
cohorts as (
    select
        customer_key,
        activity_month as cohort_month
    from counted
    where purchase_number = 1
),

cohort_sizes as (
    select
        cohort_month,
        count(*) as cohort_customers
    from cohorts
    group by cohort_month
),

activity as (
    select
        cohorts.cohort_month,
        counted.activity_month,
        count(distinct counted.customer_key) as retained_customers,
        sum(counted.net_revenue) as net_revenue
    from counted
    inner join cohorts
        on counted.customer_key = cohorts.customer_key
    group by cohorts.cohort_month, counted.activity_month
),

numbers as (
    {{ integers(3) }}
),

-- Every cohort gets every month up to the reference month, so a month in which
-- nobody came back shows 0 instead of being missing.
grid as (
    select
        cohort_sizes.cohort_month,
        cohort_sizes.cohort_customers,
        numbers.n as months_since_first_order,
        cast({{ dbt.dateadd('month', 'numbers.n', 'cohort_sizes.cohort_month') }} as date) as activity_month,
        reference.reference_date
    from cohort_sizes
    cross join reference
    cross join numbers
    where numbers.n <= {{ dbt.datediff('cohort_sizes.cohort_month', 'reference.reference_date', 'month') }}
),

joined as (
    select
        grid.cohort_month,
        grid.months_since_first_order,
        grid.activity_month,
        grid.cohort_customers,
        coalesce(activity.retained_customers, 0) as retained_customers,
        coalesce(activity.net_revenue, 0) as net_revenue,
        {{ month_end('grid.activity_month') }} > grid.reference_date as is_partial_month
    from grid
    left join activity
        on grid.cohort_month = activity.cohort_month
        and grid.activity_month = activity.activity_month
),

final as (
    select
        {{ dbt.concat([dbt.safe_cast('cohort_month', dbt.type_string()), "'+'",
                       dbt.safe_cast('months_since_first_order', dbt.type_string())]) }} as cohort_period_id,
        cohort_month,
        cast(months_since_first_order as {{ dbt.type_int() }}) as months_since_first_order,
        activity_month,
        cast(cohort_customers as {{ dbt.type_bigint() }}) as cohort_customers,
        cast(retained_customers as {{ dbt.type_bigint() }}) as retained_customers,
        {{ safe_ratio('retained_customers', 'cohort_customers') }} as retention_rate,
        cast(net_revenue as {{ type_money() }}) as net_revenue,
        {{ safe_ratio('net_revenue', 'cohort_customers') }} as revenue_per_cohort_customer,
        {{ safe_ratio(
            'sum(net_revenue) over (partition by cohort_month order by months_since_first_order rows between unbounded preceding and current row)',
            'cohort_customers') }} as cumulative_revenue_per_cohort_customer,
        is_partial_month
    from joined
)

select * from final
