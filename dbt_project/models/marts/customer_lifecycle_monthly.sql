-- Incremental on DuckDB (a table on other adapters, like the other models that replace groups of rows):
-- a month-end stage never changes once its month is closed, unless the customer's purchases or signup
-- change. So a run recomputes, for every customer, the months from the last month already stored (its
-- stage was taken at the old reference date) to the reference month, and every month of the customers
-- whose purchases int_customer_purchases rewrote since this table's newest _built_at, who have no purchase
-- left, or whose first month moved (a new customer, a corrected signup). When the first month of data moves
-- or the reference date goes back to an earlier month, every row is recomputed with the plain full select
-- (macros/lifecycle.sql decides before the run). Rows are replaced by
-- (customer_key, month_start); a post-hook deletes older rows left outside the new grid of customers and
-- months (macros/lifecycle.sql).
{{
    config(
        materialized=group_replacing_materialization(),
        unique_key=['customer_key', 'month_start'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        pre_hook="{{ add_missing_watermark_column('_built_at') }}",
        post_hook="{{ delete_superseded_lifecycle_months(ref('dim_customers'), ref('int_customer_purchases')) }}"
    )
}}

{%- set incremental_run = lifecycle_builds_on_stored_months(ref('int_customer_purchases')) %}

with

customers as (
    select * from {{ ref('dim_customers') }}
),

-- Only the columns used: the CTE is read several times, so DuckDB materialises it (10M rows at L).
purchases as (
    select customer_key, order_date, is_reactivation, net_revenue, purchase_number, _built_at
    from {{ ref('int_customer_purchases') }}
),

bounds as (
    {{ lifecycle_month_bounds('purchases') }}
),

numbers as (
    {{ integers(3) }}
),

-- The last month is usually partial: its stage is taken at the reference date,
-- not at a month end that has not happened yet.
months as (
    select
        cast({{ dbt.dateadd('month', 'numbers.n', 'bounds.first_month') }} as date) as month_start,
        bounds.reference_date
    from bounds
    cross join numbers
    where numbers.n <= {{ dbt.datediff('bounds.first_month', 'bounds.last_month', 'month') }}
),

month_ends as (
    select
        month_start,
        case
            when {{ month_end('month_start') }} < reference_date then {{ month_end('month_start') }}
            else reference_date
        end as stage_date
    from months
),

{% if incremental_run %}
stored as (
    select
        max(month_start) as last_month,
        max(_built_at) as built_at
    from {{ this }}
),

stored_first_months as (
    select customer_key, min(month_start) as first_month
    from {{ this }}
    group by customer_key
),

-- A customer's first row is the month of signup (or the first month), once signed up by the reference date.
expected_first_months as (
    select
        customers.customer_key,
        case
            when customers.signup_date <= bounds.reference_date
                then greatest(bounds.first_month, cast({{ dbt.date_trunc('month', 'customers.signup_date') }} as date))
        end as first_month
    from customers
    cross join bounds
),

rebuilt_customers as (
    select customer_key
    from purchases
    where _built_at > (select built_at from stored)
    union
    -- left without any purchase (the only ones cancelled, or re-delivered under another customer): no row
    -- of theirs is in purchases to show it
    select customer_key
    from {{ this }}
    where month_start = (select last_month from stored)
        and first_purchase_date is not null
        and customer_key not in ({{ customers_with_purchases('purchases') }})
    union
    select expected_first_months.customer_key
    from expected_first_months
    left join stored_first_months
        on expected_first_months.customer_key = stored_first_months.customer_key
    where expected_first_months.first_month is distinct from stored_first_months.first_month
),

-- Where each customer's recomputation starts: the first month, or the last month already stored.
starts as (
    select
        customers.customer_key,
        customers.signup_date,
        rebuilt_customers.customer_key is not null as is_rebuilt,
        case when rebuilt_customers.customer_key is not null then bounds.first_month else stored.last_month end
            as recompute_from
    from customers
    left join rebuilt_customers
        on customers.customer_key = rebuilt_customers.customer_key
    cross join bounds
    cross join stored
),

-- What the months before the recomputed ones carry in: purchase dates so far, and the stage of the
-- month before (the first recomputed row's previous stage).
carried_purchases as (
    select
        customer_key,
        min(order_date) as first_purchase_date,
        max(order_date) as last_purchase_date,
        max(case when is_reactivation then order_date end) as last_reactivation_date
    from purchases
    where order_date < (select last_month from stored)
    group by customer_key
),

carried_stages as (
    select customer_key, lifecycle_stage
    from {{ this }}
    where month_start = cast({{ dbt.dateadd('month', -1, '(select last_month from stored)') }} as date)
),
{% endif %}

monthly_purchases as (
    select
        customer_key,
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as month_start,
        min(order_date) as first_purchase_in_month,
        max(order_date) as last_purchase_in_month,
        max(case when is_reactivation then order_date end) as last_reactivation_in_month,
        count(*) as purchases_in_month,
        sum(net_revenue) as net_revenue_in_month
    from purchases
    {% if incremental_run %}
    where order_date >= (select last_month from stored)
        or customer_key in (select customer_key from rebuilt_customers)
    {% endif %}
    group by customer_key, cast({{ dbt.date_trunc('month', 'order_date') }} as date)
),

-- A customer enters the grid at the month of signup (or the first month when
-- the signup is older than the data).
grid as (
    select
        customers.customer_key,
        month_ends.month_start,
        month_ends.stage_date
    {% if incremental_run %}
    from starts as customers
    {% else %}
    from customers
    {% endif %}
    cross join month_ends
    where customers.signup_date <= month_ends.stage_date
    {% if incremental_run %}
        and month_ends.month_start >= customers.recompute_from
    {% endif %}
),

accumulated as (
    select
        grid.customer_key,
        grid.month_start,
        grid.stage_date,
        coalesce(monthly_purchases.purchases_in_month, 0) as purchases_in_month,
        coalesce(monthly_purchases.net_revenue_in_month, 0) as net_revenue_in_month,
        min(monthly_purchases.first_purchase_in_month) over (
            partition by grid.customer_key order by grid.month_start
            rows between unbounded preceding and current row
        ) as first_purchase_date,
        max(monthly_purchases.last_purchase_in_month) over (
            partition by grid.customer_key order by grid.month_start
            rows between unbounded preceding and current row
        ) as last_purchase_date,
        max(monthly_purchases.last_reactivation_in_month) over (
            partition by grid.customer_key order by grid.month_start
            rows between unbounded preceding and current row
        ) as last_reactivation_date
    from grid
    left join monthly_purchases
        on grid.customer_key = monthly_purchases.customer_key
        and grid.month_start = monthly_purchases.month_start
),

{% if incremental_run %}
-- The recomputed months continue from what the earlier months carry (a rebuilt customer carries nothing).
continued as (
    select
        accumulated.customer_key,
        accumulated.month_start,
        accumulated.stage_date,
        accumulated.purchases_in_month,
        accumulated.net_revenue_in_month,
        least(accumulated.first_purchase_date, carried_purchases.first_purchase_date) as first_purchase_date,
        greatest(accumulated.last_purchase_date, carried_purchases.last_purchase_date) as last_purchase_date,
        greatest(accumulated.last_reactivation_date, carried_purchases.last_reactivation_date)
            as last_reactivation_date,
        carried_stages.lifecycle_stage as carried_stage
    from accumulated
    inner join starts
        on accumulated.customer_key = starts.customer_key
    left join carried_purchases
        on accumulated.customer_key = carried_purchases.customer_key
        and not starts.is_rebuilt
    left join carried_stages
        on accumulated.customer_key = carried_stages.customer_key
        and not starts.is_rebuilt
),
{% else %}
continued as (
    select accumulated.*, cast(null as {{ dbt.type_string() }}) as carried_stage
    from accumulated
),
{% endif %}

staged as (
    select
        continued.*,
        {{ lifecycle_stage('first_purchase_date', 'last_purchase_date', 'last_reactivation_date', 'stage_date') }}
            as lifecycle_stage
    from continued
),

final as (
    select
        {{ dbt.concat(['customer_key', "'-'", dbt.safe_cast('month_start', dbt.type_string())]) }} as customer_month_id,
        customer_key,
        month_start,
        stage_date,
        cast(purchases_in_month as {{ dbt.type_bigint() }}) as purchases_in_month,
        cast(net_revenue_in_month as {{ type_money() }}) as net_revenue_in_month,
        first_purchase_date,
        last_purchase_date,
        lifecycle_stage,
        coalesce(
            lag(lifecycle_stage) over (partition by customer_key order by month_start),
            carried_stage
        ) as previous_stage
    from staged
)

-- when this run wrote the row: the next incremental run recomputes customers with purchases written after it
select *, {{ built_at() }} as _built_at from final
