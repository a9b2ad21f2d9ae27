{%- set as_of = var('as_of_date', none) -%}
-- Built with the facts that reference it, in the partitioned dbt asset (one dbt invocation with staging).
{{ config(tags=['delivery_partitioned']) }}

with

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

orders as (
    select * from {{ ref('int_order_lines_totaled') }}
),

as_of as (
    select
        {% if as_of -%}
        cast('{{ as_of }}' as date) as as_of_date
        {%- else -%}
        cast({{ dbt.current_timestamp() }} as date) as as_of_date
        {%- endif %}
),

order_summary as (
    select
        customer_key,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(*) as lifetime_order_count,
        sum(case when is_completed then 1 else 0 end) as completed_order_count,
        sum(case when is_cancelled then 1 else 0 end) as cancelled_order_count,
        sum(case when is_returned then 1 else 0 end) as returned_order_count,
        sum(net_revenue) as lifetime_net_revenue
    from orders
    group by customer_key
),

with_age as (
    select
        customers.*,
        as_of.as_of_date,
        -- whole years, minus one when this year's birthday is still ahead
        extract(year from as_of.as_of_date) - extract(year from customers.birth_date)
        - case
            when extract(month from as_of.as_of_date) * 100 + extract(day from as_of.as_of_date)
                < extract(month from customers.birth_date) * 100 + extract(day from customers.birth_date)
            then 1 else 0
        end as age_years
    from customers
    cross join as_of
),

-- Published: derived attributes only. The CRM id, names, e-mail, phone and birth date stay in
-- restricted staging; what a mart needs from them is derived here (age band, e-mail domain,
-- whether the customer can be reached), never copied.
final as (
    select
        with_age.customer_key,
        coalesce(with_age.gender, 'unknown') as gender,
        case
            when with_age.age_years is null or with_age.age_years < 0 then 'unknown'
            when with_age.age_years < 18 then 'under 18'
            when with_age.age_years < 25 then '18-24'
            when with_age.age_years < 35 then '25-34'
            when with_age.age_years < 45 then '35-44'
            when with_age.age_years < 55 then '45-54'
            when with_age.age_years < 65 then '55-64'
            else '65+'
        end as age_band,
        with_age.email_domain,
        with_age.email is not null as has_email,
        with_age.phone is not null as has_phone,
        with_age.city,
        with_age.region,
        with_age.country_code,
        with_age.country_name,
        with_age.signup_at,
        cast(with_age.signup_at as date) as signup_date,
        cast({{ dbt.datediff('cast(with_age.signup_at as date)', 'with_age.as_of_date', 'day') }} as {{ dbt.type_int() }})
            as tenure_days,
        case
            when with_age.signup_at is null then 'unknown'
            when {{ dbt.datediff('cast(with_age.signup_at as date)', 'with_age.as_of_date', 'day') }} < 90 then 'under 3 months'
            when {{ dbt.datediff('cast(with_age.signup_at as date)', 'with_age.as_of_date', 'day') }} < 365 then '3-12 months'
            when {{ dbt.datediff('cast(with_age.signup_at as date)', 'with_age.as_of_date', 'day') }} < 730 then '1-2 years'
            else '2+ years'
        end as tenure_band,
        with_age.acquisition_channel,
        with_age.marketing_consent,
        order_summary.first_order_date,
        order_summary.last_order_date,
        cast(coalesce(order_summary.lifetime_order_count, 0) as {{ dbt.type_bigint() }}) as lifetime_order_count,
        cast(coalesce(order_summary.completed_order_count, 0) as {{ dbt.type_bigint() }}) as completed_order_count,
        cast(coalesce(order_summary.cancelled_order_count, 0) as {{ dbt.type_bigint() }}) as cancelled_order_count,
        cast(coalesce(order_summary.returned_order_count, 0) as {{ dbt.type_bigint() }}) as returned_order_count,
        cast(coalesce(order_summary.lifetime_net_revenue, 0) as {{ type_money() }}) as lifetime_net_revenue,
        with_age.updated_at
    from with_age
    left join order_summary
        on with_age.customer_key = order_summary.customer_key
)

select * from final
