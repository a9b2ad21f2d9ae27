{%- set reference_date = var('rfm_reference_date', none) -%}

-- Built after the dimension(s) it references, as facts are loaded after their dimensions: its
-- relationship tests then run in the same dbt invocation and gate everything downstream.
-- depends_on: {{ ref('dim_customers') }}

with

orders as (
    select * from {{ ref('fct_orders') }}
),

segment_map as (
    select * from {{ ref('rfm_segment_map') }}
),

-- Pinning the default to the data (not today) keeps scores reproducible for a
-- rebuild of the same data; all statuses count, because an order placed that
-- day shows the data runs to that day whatever happened to the order later.
reference as (
    {% if reference_date -%}
    select cast('{{ reference_date }}' as date) as reference_date
    {%- else -%}
    select max(order_date) as reference_date
    from orders
    {%- endif %}
),

counted_orders as (
    select
        orders.customer_key,
        orders.order_id,
        orders.order_date,
        orders.net_revenue,
        reference.reference_date
    from orders
    cross join reference
    where orders.status = 'completed'
      and orders.order_date <= reference.reference_date
),

customer_totals as (
    select
        customer_key,
        reference_date,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(*) as frequency,
        sum(net_revenue) as monetary
    from counted_orders
    group by customer_key, reference_date
),

measures as (
    select
        customer_key,
        reference_date,
        first_order_date,
        last_order_date,
        cast({{ dbt.datediff('last_order_date', 'reference_date', 'day') }} as {{ dbt.type_bigint() }}) as recency_days,
        cast(frequency as {{ dbt.type_bigint() }}) as frequency,
        cast(monetary as {{ type_money() }}) as monetary
    from customer_totals
),

-- Tie-aware quintiles: equal values share a percent_rank and so a score.
-- Recency is ranked descending so the most recent buyers score 5.
scored as (
    select
        measures.*,
        cast(least(5, 1 + floor(5 * percent_rank() over (order by recency_days desc))) as {{ dbt.type_int() }}) as r_score,
        cast(least(5, 1 + floor(5 * percent_rank() over (order by frequency asc))) as {{ dbt.type_int() }}) as f_score,
        cast(least(5, 1 + floor(5 * percent_rank() over (order by monetary asc))) as {{ dbt.type_int() }}) as m_score
    from measures
),

final as (
    select
        scored.customer_key,
        scored.reference_date,
        scored.first_order_date,
        scored.last_order_date,
        scored.recency_days,
        scored.frequency,
        scored.monetary,
        scored.r_score,
        scored.f_score,
        scored.m_score,
        {{ dbt.concat([
            dbt.safe_cast('scored.r_score', dbt.type_string()),
            dbt.safe_cast('scored.f_score', dbt.type_string()),
            dbt.safe_cast('scored.m_score', dbt.type_string()),
        ]) }} as rfm_cell,
        segment_map.segment as rfm_segment
    from scored
    left join segment_map
        on scored.r_score = segment_map.r_score
        and scored.f_score = segment_map.f_score
)

select * from final
