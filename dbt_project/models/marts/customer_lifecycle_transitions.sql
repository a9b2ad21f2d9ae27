with

monthly as (
    select * from {{ ref('customer_lifecycle_monthly') }}
),

final as (
    select
        month_start,
        -- customers appear once they have signed up (or in the first month of data)
        coalesce(previous_stage, 'entered') as from_stage,
        lifecycle_stage as to_stage,
        coalesce(previous_stage, 'entered') <> lifecycle_stage as is_stage_change,
        cast(count(*) as {{ dbt.type_bigint() }}) as customer_count
    from monthly
    group by month_start, coalesce(previous_stage, 'entered'), lifecycle_stage
)

select * from final
