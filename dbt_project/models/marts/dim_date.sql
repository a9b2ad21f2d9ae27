with

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

reference as (
    {{ reference_date_select() }}
),

-- From the oldest signup or order to the reference date: every date a mart
-- row can carry falls inside, so joins to dim_date never lose rows.
bounds as (
    select
        (
            select min(cast(signup_at as date)) from customers
        ) as first_signup,
        (
            select min(order_date) from orders
        ) as first_order,
        reference.reference_date as last_day
    from reference
),

starts as (
    select
        case
            when first_signup is null or first_order < first_signup then first_order
            else first_signup
        end as first_day,
        last_day
    from bounds
),

numbers as (
    {{ integers(5) }}
),

days as (
    select cast({{ dbt.dateadd('day', 'numbers.n', 'starts.first_day') }} as date) as date_day
    from starts
    cross join numbers
    where numbers.n <= {{ dbt.datediff('starts.first_day', 'starts.last_day', 'day') }}
),

parts as (
    select
        date_day,
        cast(extract(year from date_day) as {{ dbt.type_int() }}) as year_number,
        cast(extract(quarter from date_day) as {{ dbt.type_int() }}) as quarter_number,
        cast(extract(month from date_day) as {{ dbt.type_int() }}) as month_number,
        cast(extract(day from date_day) as {{ dbt.type_int() }}) as day_of_month,
        {{ iso_day_of_week('date_day') }} as iso_day_of_week
    from days
),

final as (
    select
        date_day,
        year_number,
        quarter_number,
        month_number,
        {{ dbt.concat([
            dbt.safe_cast('year_number', dbt.type_string()),
            "case when month_number < 10 then '-0' else '-' end",
            dbt.safe_cast('month_number', dbt.type_string()),
        ]) }} as year_month,
        case month_number
            when 1 then 'January' when 2 then 'February' when 3 then 'March' when 4 then 'April'
            when 5 then 'May' when 6 then 'June' when 7 then 'July' when 8 then 'August'
            when 9 then 'September' when 10 then 'October' when 11 then 'November' else 'December'
        end as month_name,
        day_of_month,
        iso_day_of_week,
        case iso_day_of_week
            when 1 then 'Monday' when 2 then 'Tuesday' when 3 then 'Wednesday' when 4 then 'Thursday'
            when 5 then 'Friday' when 6 then 'Saturday' else 'Sunday'
        end as day_name,
        iso_day_of_week >= 6 as is_weekend,
        cast({{ dbt.dateadd('day', '1 - iso_day_of_week', 'date_day') }} as date) as week_start,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        {{ month_end(dbt.date_trunc('month', 'date_day')) }} as month_end,
        cast({{ dbt.date_trunc('quarter', 'date_day') }} as date) as quarter_start
    from parts
)

select * from final
