with

daily as (
    select * from {{ ref('int_kpi_daily_metrics') }}
),

purchases as (
    select * from {{ ref('int_customer_purchases') }}
),

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

targets as (
    select * from {{ ref('kpi_targets') }}
    where grain = 'monthly'
),

reference as (
    {{ reference_date_select() }}
),

counted as (
    select
        purchases.*,
        cast({{ dbt.date_trunc('month', 'purchases.order_date') }} as date) as month_start
    from purchases
    cross join reference
    where purchases.order_date <= reference.reference_date
),

customer_firsts as (
    select
        customer_key,
        min(order_date) as first_purchase_date
    from counted
    group by customer_key
),

-- Distinct customers do not add up over days, so they are counted per month.
monthly_orders as (
    select
        counted.month_start,
        count(*) as orders,
        sum(case when counted.is_completed then 1 else 0 end) as completed_orders,
        sum(counted.net_revenue) as net_revenue,
        count(distinct counted.customer_key) as purchasing_customers,
        count(distinct case when customer_firsts.first_purchase_date >= counted.month_start
            then counted.customer_key end) as new_customers,
        count(distinct case when customer_firsts.first_purchase_date < counted.month_start
            then counted.customer_key end) as returning_customers
    from counted
    inner join customer_firsts
        on counted.customer_key = customer_firsts.customer_key
    group by counted.month_start
),

-- Head counts are taken on the last day of the month (or the reference date),
-- the churn base on the first day (= not churned at the end of the month before),
-- and churn events are summed over the month.
monthly_status as (
    select
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        min(date_day) as first_day,
        max(date_day) as last_day,
        sum(churned_customers) as churned_customers
    from daily
    group by cast({{ dbt.date_trunc('month', 'date_day') }} as date)
),

monthly_heads as (
    select
        monthly_status.month_start,
        monthly_status.last_day,
        monthly_status.churned_customers,
        last_day_metrics.active_customers,
        first_day_metrics.churn_base_customers
    from monthly_status
    inner join daily as last_day_metrics
        on monthly_status.last_day = last_day_metrics.date_day
    inner join daily as first_day_metrics
        on monthly_status.first_day = first_day_metrics.date_day
),

monthly_nps as (
    select
        cast({{ dbt.date_trunc('month', 'responded_at') }} as date) as month_start,
        count(*) as nps_responses,
        sum(case when nps_score >= 9 then 1 else 0 end) as nps_promoters,
        sum(case when nps_score <= 6 then 1 else 0 end) as nps_detractors
    from responses
    group by cast({{ dbt.date_trunc('month', 'responded_at') }} as date)
),

metrics as (
    select
        monthly_heads.month_start,
        monthly_heads.last_day,
        monthly_heads.active_customers,
        monthly_heads.churn_base_customers,
        monthly_heads.churned_customers,
        coalesce(monthly_orders.orders, 0) as orders,
        coalesce(monthly_orders.completed_orders, 0) as completed_orders,
        coalesce(monthly_orders.net_revenue, 0) as net_revenue,
        coalesce(monthly_orders.purchasing_customers, 0) as purchasing_customers,
        coalesce(monthly_orders.new_customers, 0) as new_customers,
        coalesce(monthly_orders.returning_customers, 0) as returning_customers,
        coalesce(monthly_nps.nps_responses, 0) as nps_responses,
        coalesce(monthly_nps.nps_promoters, 0) as nps_promoters,
        coalesce(monthly_nps.nps_detractors, 0) as nps_detractors
    from monthly_heads
    left join monthly_orders
        on monthly_heads.month_start = monthly_orders.month_start
    left join monthly_nps
        on monthly_heads.month_start = monthly_nps.month_start
),

long as (
    {{ unpivot_kpis('metrics', 'month_start') }}
),

final as (
    select
        {{ dbt.concat([dbt.safe_cast('long.month_start', dbt.type_string()), "'|'", 'long.kpi_name']) }} as kpi_month_id,
        long.month_start,
        metrics.last_day < {{ month_end('long.month_start') }} as is_partial_month,
        long.kpi_name,
        long.kpi_value,
        long.numerator,
        long.denominator,
        targets.target_value,
        long.kpi_value - targets.target_value as gap_to_target,
        case
            when targets.target_value is null or long.kpi_value is null then null
            when targets.higher_is_better then long.kpi_value >= targets.target_value
            else long.kpi_value <= targets.target_value
        end as is_on_target
    from long
    inner join metrics
        on long.month_start = metrics.month_start
    left join targets
        on long.kpi_name = targets.kpi_name
)

select * from final
