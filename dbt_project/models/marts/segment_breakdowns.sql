{#-
    One block of rows per breakdown listed in seed breakdown_definitions. The
    seed is read when the model runs (dbt builds the seed first); its column
    names go into SQL, so they are checked against the customer_360 columns
    that make sense as a breakdown.
-#}
{%- set allowed = ['age_band', 'gender', 'country_code', 'region', 'city', 'acquisition_channel',
                   'favourite_channel', 'favourite_category', 'tenure_band', 'lifecycle_stage',
                   'rfm_segment', 'segment_name_en', 'marketing_consent'] -%}
{%- set breakdowns = [] -%}
{%- if execute -%}
    {%- set rows = run_query('select breakdown_name, dimension_column from ' ~ ref('breakdown_definitions') ~ ' order by breakdown_name') -%}
    {%- for row in rows -%}
        {%- if row[1] not in allowed -%}
            {{ exceptions.raise_compiler_error(
                "seeds/breakdown_definitions.csv: breakdown '" ~ row[0] ~ "' uses column '" ~ row[1]
                ~ "', which is not one of " ~ allowed | join(', ') ~ ". Fix the seed or add the column to the list in "
                ~ "models/marts/segment_breakdowns.sql.") }}
        {%- endif -%}
        {%- do breakdowns.append((row[0], row[1])) -%}
    {%- endfor -%}
{%- endif %}
-- depends_on: {{ ref('breakdown_definitions') }}

with

customers as (
    select * from {{ ref('customer_360') }}
),

described as (
    select
        customer_key,
        completed_order_count,
        lifetime_order_count,
        lifetime_net_revenue,
        lifecycle_stage,
        last_nps_score,
        last_nps_category,
        {%- for name, column in breakdowns %}
        coalesce({{ dbt.safe_cast(column, dbt.type_string()) }}, 'unknown') as dim_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
        {%- if not breakdowns %}
        'unknown' as dim_0
        {%- endif %}
    from customers
),

stacked as (
    {%- for name, column in breakdowns %}
    select '{{ name }}' as breakdown_name, dim_{{ loop.index }} as breakdown_value, described.*
    from described
    {{ 'union all' if not loop.last }}
    {%- endfor %}
    {%- if not breakdowns %}
    select 'none' as breakdown_name, dim_0 as breakdown_value, described.* from described where 1 = 0
    {%- endif %}
),

counted as (
    select
        breakdown_name,
        breakdown_value,
        count(*) as customers,
        sum(case when lifecycle_stage <> 'prospect' then 1 else 0 end) as buyers,
        sum(case when completed_order_count >= 2 then 1 else 0 end) as repeat_buyers,
        sum(case when lifecycle_stage = 'churned' then 1 else 0 end) as churned_buyers,
        sum(completed_order_count) as completed_orders,
        sum(lifetime_net_revenue) as net_revenue,
        count(last_nps_score) as nps_respondents,
        sum(case when last_nps_category = 'promoter' then 1 else 0 end) as nps_promoters,
        sum(case when last_nps_category = 'detractor' then 1 else 0 end) as nps_detractors
    from stacked
    group by breakdown_name, breakdown_value
),

final as (
    select
        {{ dbt.concat(['breakdown_name', "'|'", 'breakdown_value']) }} as breakdown_id,
        breakdown_name,
        breakdown_value,
        cast(customers as {{ dbt.type_bigint() }}) as customers,
        cast(buyers as {{ dbt.type_bigint() }}) as buyers,
        {{ safe_ratio('buyers', 'customers') }} as buyer_rate,
        cast(completed_orders as {{ dbt.type_bigint() }}) as completed_orders,
        cast(net_revenue as {{ type_money() }}) as net_revenue,
        {{ safe_ratio('net_revenue', 'customers') }} as revenue_per_customer,
        {{ safe_ratio('net_revenue', 'buyers') }} as revenue_per_buyer,
        {{ safe_ratio('net_revenue', 'completed_orders') }} as average_order_value,
        {{ safe_ratio('repeat_buyers', 'buyers') }} as repeat_purchase_rate,
        {{ safe_ratio('buyers - churned_buyers', 'buyers') }} as retention_rate,
        {{ safe_ratio('churned_buyers', 'buyers') }} as churn_rate,
        cast(nps_respondents as {{ dbt.type_bigint() }}) as nps_respondents,
        100.0 * {{ safe_ratio('nps_promoters - nps_detractors', 'nps_respondents') }} as nps
    from counted
)

select * from final
