-- kpi_daily counts active customers with running interval sums; on the
-- reference date that must equal the new + active + reactivated stages.
with

kpi as (
    select kpi_value
    from {{ ref('kpi_daily') }}
    where kpi_name = 'active_customers'
      and date_day = (select max(reference_date) from {{ ref('customer_lifecycle') }})
),

lifecycle as (
    select count(*) as active_customers
    from {{ ref('customer_lifecycle') }}
    where lifecycle_stage in ('new', 'active', 'reactivated')
),

final as (
    select kpi.kpi_value, lifecycle.active_customers
    from kpi
    cross join lifecycle
    where kpi.kpi_value <> lifecycle.active_customers
)

select * from final
