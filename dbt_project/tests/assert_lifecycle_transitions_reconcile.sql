-- Transition counts must add back to the stage-per-month table: into a month
-- by to_stage, and out of the previous month by from_stage (nobody vanishes).
with

monthly as (
    select * from {{ ref('customer_lifecycle_monthly') }}
),

transitions as (
    select * from {{ ref('customer_lifecycle_transitions') }}
),

stage_counts as (
    select month_start, lifecycle_stage, count(*) as customers
    from monthly
    group by month_start, lifecycle_stage
),

into_month as (
    select month_start, to_stage as lifecycle_stage, sum(customer_count) as customers
    from transitions
    group by month_start, to_stage
),

out_of_previous as (
    select
        cast({{ dbt.dateadd('month', -1, 'month_start') }} as date) as month_start,
        from_stage as lifecycle_stage,
        sum(customer_count) as customers
    from transitions
    where from_stage <> 'entered'
    group by month_start, from_stage
),

mismatched_in as (
    select stage_counts.month_start, stage_counts.lifecycle_stage
    from stage_counts
    full outer join into_month
        on stage_counts.month_start = into_month.month_start
        and stage_counts.lifecycle_stage = into_month.lifecycle_stage
    where coalesce(stage_counts.customers, -1) <> coalesce(into_month.customers, -1)
),

mismatched_out as (
    select out_of_previous.month_start, out_of_previous.lifecycle_stage
    from out_of_previous
    left join stage_counts
        on stage_counts.month_start = out_of_previous.month_start
        and stage_counts.lifecycle_stage = out_of_previous.lifecycle_stage
    where coalesce(stage_counts.customers, -1) <> out_of_previous.customers
),

final as (
    select * from mismatched_in
    union all
    select * from mismatched_out
)

select * from final
