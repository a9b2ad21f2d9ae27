{#
    The KPI definitions shared by kpi_daily and kpi_monthly, applied to a CTE
    with the same wide columns at either grain. Each KPI is (name, value,
    numerator, denominator): ratios keep their parts so BI can re-aggregate
    (sum numerators / sum denominators) instead of averaging averages.
#}
{% macro kpi_definitions() -%}
    {{ return([
        ('active_customers', 'active_customers', none, none),
        ('new_customers', 'new_customers', none, none),
        ('purchasing_customers', 'purchasing_customers', none, none),
        ('orders', 'orders', none, none),
        ('revenue', 'net_revenue', none, none),
        ('aov', none, 'net_revenue', 'completed_orders'),
        ('purchase_frequency', none, 'orders', 'purchasing_customers'),
        ('repeat_purchase_rate', none, 'returning_customers', 'purchasing_customers'),
        ('churn_rate', none, 'churned_customers', 'churn_base_customers'),
        ('retention_rate', none, 'churn_base_customers - churned_customers', 'churn_base_customers'),
        ('nps', none, '100 * (nps_promoters - nps_detractors)', 'nps_responses'),
    ]) }}
{%- endmacro %}


{% macro unpivot_kpis(wide_cte, period_column) -%}
    {%- for name, value, numerator, denominator in kpi_definitions() %}
    select
        {{ period_column }},
        '{{ name }}' as kpi_name,
        {%- if value %}
        cast({{ value }} as {{ type_double() }}) as kpi_value,
        cast(null as {{ type_double() }}) as numerator,
        cast(null as {{ type_double() }}) as denominator
        {%- else %}
        {{ safe_ratio(numerator, denominator) }} as kpi_value,
        cast({{ numerator }} as {{ type_double() }}) as numerator,
        cast({{ denominator }} as {{ type_double() }}) as denominator
        {%- endif %}
    from {{ wide_cte }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
