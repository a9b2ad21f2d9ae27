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

purchase_summary as (
    select
        purchases.customer_key,
        min(purchases.order_date) as first_purchase_date,
        max(purchases.order_date) as last_purchase_date,
        max(case when purchases.is_reactivation then purchases.order_date end) as last_reactivation_date,
        count(*) as purchase_count
    from purchases
    cross join reference
    where purchases.order_date <= reference.reference_date
    group by purchases.customer_key
),

staged as (
    select
        customers.customer_key,
        reference.reference_date,
        customers.signup_date,
        purchase_summary.first_purchase_date,
        purchase_summary.last_purchase_date,
        purchase_summary.last_reactivation_date,
        coalesce(purchase_summary.purchase_count, 0) as purchase_count,
        {{ lifecycle_stage(
            'purchase_summary.first_purchase_date',
            'purchase_summary.last_purchase_date',
            'purchase_summary.last_reactivation_date',
            'reference.reference_date',
        ) }} as lifecycle_stage
    from customers
    cross join reference
    left join purchase_summary
        on customers.customer_key = purchase_summary.customer_key
),

final as (
    select
        customer_key,
        reference_date,
        signup_date,
        first_purchase_date,
        last_purchase_date,
        last_reactivation_date,
        cast(purchase_count as {{ dbt.type_bigint() }}) as purchase_count,
        cast({{ dbt.datediff('first_purchase_date', 'reference_date', 'day') }} as {{ dbt.type_bigint() }})
            as days_since_first_purchase,
        cast({{ dbt.datediff('last_purchase_date', 'reference_date', 'day') }} as {{ dbt.type_bigint() }})
            as days_since_last_purchase,
        lifecycle_stage,
        lifecycle_stage = 'churned' as is_churned
    from staged
)

select * from final
