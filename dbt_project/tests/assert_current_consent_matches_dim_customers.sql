-- Audience exports read consent from dim_customers; the history must end in the same state,
-- with exactly one current period per customer.
with

current_periods as (
    select customer_key, count(*) as current_count, max(case when marketing_consent then 1 else 0 end) as consent
    from {{ ref('customer_consent_history') }}
    where is_current
    group by customer_key
),

customers as (
    select customer_key, case when marketing_consent then 1 else 0 end as consent
    from {{ ref('dim_customers') }}
)

select customers.customer_key, customers.consent, current_periods.consent as history_consent,
       current_periods.current_count
from customers
left join current_periods
    on customers.customer_key = current_periods.customer_key
where current_periods.current_count is null
   or current_periods.current_count <> 1
   or current_periods.consent <> customers.consent
