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
