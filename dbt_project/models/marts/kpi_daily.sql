with

metrics as (
    select * from {{ ref('int_kpi_daily_metrics') }}
),

targets as (
    select * from {{ ref('kpi_targets') }}
    where grain = 'daily'
),

long as (
    {{ unpivot_kpis('metrics', 'date_day') }}
),

final as (
    select
        {{ dbt.concat([dbt.safe_cast('long.date_day', dbt.type_string()), "'|'", 'long.kpi_name']) }} as kpi_day_id,
        long.date_day,
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
    left join targets
        on long.kpi_name = targets.kpi_name
)

select * from final
