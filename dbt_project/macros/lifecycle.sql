{#
    Lifecycle stage of a customer on day `as_of`, from purchases (orders not
    cancelled) on or before that day. One rule for the as-of table and the
    month-end history so both always agree. Thresholds are vars (days):
      lifecycle_new_days (30), lifecycle_active_days (60), lifecycle_churn_days (120).
    Order of the rules matters: reactivated beats new/active, new beats active.
      prospect     no purchase yet
      new          first purchase within new_days
      reactivated  came back after a gap of more than churn_days, within active_days
      active       last purchase within active_days
      dormant      last purchase more than active_days ago (at risk)
      churned      last purchase more than churn_days ago
#}
{% macro lifecycle_stage(first_purchase_date, last_purchase_date, last_reactivation_date, as_of) -%}
    case
        when {{ last_purchase_date }} is null then 'prospect'
        when {{ dbt.datediff(first_purchase_date, as_of, 'day') }} < {{ var('lifecycle_new_days') }} then 'new'
        when {{ dbt.datediff(last_purchase_date, as_of, 'day') }} > {{ var('lifecycle_churn_days') }} then 'churned'
        when {{ dbt.datediff(last_purchase_date, as_of, 'day') }} >= {{ var('lifecycle_active_days') }} then 'dormant'
        when {{ last_reactivation_date }} is not null
            and {{ dbt.datediff(last_reactivation_date, as_of, 'day') }} < {{ var('lifecycle_active_days') }}
            then 'reactivated'
        else 'active'
    end
{%- endmacro %}


{# The month grid of customer_lifecycle_monthly: first_month (of the first purchase), last_month (of the reference
   date) and reference_date, from `purchases` (a relation or CTE with order_date). #}
{% macro lifecycle_month_bounds(purchases) -%}
    select
        cast({{ dbt.date_trunc('month', 'min(purchases.order_date)') }} as date) as first_month,
        cast({{ dbt.date_trunc('month', 'max(reference.reference_date)') }} as date) as last_month,
        max(reference.reference_date) as reference_date
    from {{ purchases }} as purchases
    cross join ({{ reference_date_select() }}) as reference
{%- endmacro %}


{# Whether an incremental run of customer_lifecycle_monthly recomputes only some rows (true) or every row:
   every row when there are no stamped rows to build on, or the month grid moved (a different first month of
   data, or a reference month before the last one stored). #}
{% macro lifecycle_builds_on_stored_months(purchases_relation) -%}
    {%- if not builds_on_stored_rows('_built_at') -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set check -%}
        select coalesce(stored.first_month = bounds.first_month and bounds.last_month >= stored.last_month, false)
        from (select min(month_start) as first_month, max(month_start) as last_month from {{ this }}) as stored
        cross join ({{ lifecycle_month_bounds(purchases_relation) }}) as bounds
    {%- endset -%}
    {{ return(run_query(check).columns[0].values()[0]) }}
{%- endmacro %}


{#
  Post-hook of customer_lifecycle_monthly: delete+insert replaced the rows this run recomputed, which are
  all the rows of the new grid it did not carry over unchanged; an older row still there is outside the
  new grid and goes: its month is before the first month of data or after the reference month, or its
  customer is gone from dim_customers or had not signed up by the month's stage date now (a corrected
  signup, or a reference date moved back).
#}
{% macro delete_superseded_lifecycle_months(customers_relation, purchases_relation) -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as superseded
    using ({{ lifecycle_month_bounds(purchases_relation) }}) as grid
    where (superseded._built_at < {{ built_at() }} or superseded._built_at is null)
      and (
          superseded.month_start < grid.first_month
          or superseded.month_start > grid.reference_date
          -- keys from a plain join: a correlated not-exists with the date condition grouped every row first
          -- (2.6 s against 0.4 s at L)
          or (superseded.customer_key, superseded.month_start) in (
              select stored.customer_key, stored.month_start
              from {{ this }} as stored
              cross join ({{ reference_date_select() }}) as reference
              left join {{ customers_relation }} as customers
                  on stored.customer_key = customers.customer_key
              where (stored._built_at < {{ built_at() }} or stored._built_at is null)
                and (
                    customers.customer_key is null
                    or customers.signup_date > least({{ month_end('stored.month_start') }}, reference.reference_date)
                )
          )
      )
    {%- endif -%}
{%- endmacro %}
