-- The month-end history and the as-of table use one rule; in the reference
-- month they must give every customer the same stage.
with

lifecycle as (
    select * from {{ ref('customer_lifecycle') }}
),

latest_month as (
    select * from {{ ref('customer_lifecycle_monthly') }}
    where stage_date = (select max(stage_date) from {{ ref('customer_lifecycle_monthly') }})
),

final as (
    select lifecycle.customer_key, lifecycle.lifecycle_stage, latest_month.lifecycle_stage as monthly_stage
    from lifecycle
    inner join latest_month
        on lifecycle.customer_key = latest_month.customer_key
    where lifecycle.reference_date = latest_month.stage_date
      and lifecycle.lifecycle_stage <> latest_month.lifecycle_stage
)

select * from final
