-- SCD2 integrity: every customer has exactly one current version and its
-- versions do not overlap, otherwise "as of" joins return two profiles.
with

history as (
    select * from {{ ref('dim_customers_history') }}
),

current_counts as (
    select customer_key, sum(case when is_current then 1 else 0 end) as current_versions
    from history
    group by customer_key
    having sum(case when is_current then 1 else 0 end) <> 1
),

overlapping_versions as (
    select earlier.customer_key, 0 as current_versions
    from history as earlier
    inner join history as later
        on earlier.customer_key = later.customer_key
        and earlier.customer_version_id <> later.customer_version_id
        and later.valid_from >= earlier.valid_from
        and (earlier.valid_to is null or later.valid_from < earlier.valid_to)
),

final as (
    select * from current_counts
    union all
    select * from overlapping_versions
)

select * from final
