-- The bare minimum for the customer marts: landing files -> validated rows -> latest version per key
-- -> fct_orders -> dim_customers -> customer_rfm, in one DuckDB process, no framework.
-- Same rules as the pipeline (contract checks, dedupe on the business version, RFM quintiles),
-- written directly. `{landing}` is replaced by the landing directory. Steps start with "-- @step".

-- @step load_customers
create schema if not exists raw;
create or replace table raw.customers as
select * from read_csv('{landing}/customers/*/*.csv', all_varchar = true, header = true, filename = true, union_by_name = true,
                       ignore_errors = true, null_padding = true)
where nullif(trim(customer_id), '') is not null
  and try_cast(signup_at as timestamp) is not null
  and try_cast(updated_at as timestamp) is not null
  and lower(trim(marketing_consent)) in ('true', 'false');

-- @step load_orders
create or replace table raw.orders as
select * from read_parquet('{landing}/orders/*/*.parquet', union_by_name = true, filename = true,
                           file_row_number = true)
where nullif(trim(order_id), '') is not null and nullif(trim(customer_id), '') is not null
  and try_cast(ordered_at as timestamp) is not null and try_cast(updated_at as timestamp) is not null
  and lower(trim(status)) in ('completed', 'cancelled', 'returned')
  and lower(trim(channel)) in ('web', 'app', 'store')
  and try_cast(subtotal_amount as decimal(18, 2)) >= 0 and try_cast(discount_amount as decimal(18, 2)) >= 0
  and try_cast(shipping_amount as decimal(18, 2)) >= 0 and try_cast(total_amount as decimal(18, 2)) >= 0;

-- @step load_order_items
create or replace table raw.order_items as
select * from read_parquet('{landing}/order_items/*/*.parquet', union_by_name = true, filename = true,
                           file_row_number = true)
where nullif(trim(order_id), '') is not null and nullif(trim(product_id), '') is not null
  and try_cast(line_number as integer) >= 1 and try_cast(quantity as integer) >= 1
  and try_cast(unit_price as decimal(18, 2)) >= 0 and try_cast(ordered_at as timestamp) is not null;

-- @step stg_orders
create schema if not exists staging;
create or replace table staging.orders as
select trim(order_id) as order_id, trim(customer_id) as customer_id,
       cast(ordered_at as timestamp) as ordered_at, cast(cast(ordered_at as timestamp) as date) as order_date,
       lower(trim(channel)) as channel, lower(trim(status)) as status,
       cast(subtotal_amount as decimal(18, 2)) as subtotal_amount,
       cast(discount_amount as decimal(18, 2)) as discount_amount,
       cast(shipping_amount as decimal(18, 2)) as shipping_amount,
       cast(total_amount as decimal(18, 2)) as total_amount, cast(updated_at as timestamp) as updated_at
from raw.orders
qualify row_number() over (partition by order_id
                           order by cast(updated_at as timestamp) desc, filename desc, file_row_number desc) = 1;

-- @step stg_order_items
create or replace table staging.order_items as
select trim(order_id) as order_id, cast(line_number as integer) as line_number, trim(product_id) as product_id,
       cast(quantity as integer) as quantity, cast(unit_price as decimal(18, 2)) as unit_price,
       cast(cast(quantity as integer) * cast(unit_price as decimal(18, 2)) as decimal(18, 2)) as line_amount,
       cast(ordered_at as timestamp) as ordered_at
from raw.order_items
qualify row_number() over (partition by order_id, line_number order by filename desc, file_row_number desc) = 1;

-- @step stg_customers
create or replace table staging.customers as
select trim(customer_id) as customer_id, lower(nullif(trim(email), '')) as email,
       nullif(trim(phone), '') as phone, nullif(trim(first_name), '') as first_name,
       nullif(trim(last_name), '') as last_name, lower(nullif(trim(gender), '')) as gender,
       try_cast(birth_date as date) as birth_date, nullif(trim(city), '') as city,
       nullif(trim(region), '') as region, upper(nullif(trim(country), '')) as country,
       cast(signup_at as timestamp) as signup_at, lower(nullif(trim(acquisition_channel), '')) as acquisition_channel,
       lower(trim(marketing_consent)) = 'true' as marketing_consent, cast(updated_at as timestamp) as updated_at
from raw.customers
qualify row_number() over (partition by customer_id order by cast(updated_at as timestamp) desc, filename desc) = 1;

-- @step fct_orders
create schema if not exists marts;
create or replace table marts.fct_orders as
with line_totals as (
    select order_id, count(*) as line_count, sum(quantity) as item_quantity, sum(line_amount) as lines_subtotal_amount
    from staging.order_items group by order_id
)
select o.*, o.status = 'completed' as is_completed, o.status = 'cancelled' as is_cancelled,
       o.status = 'returned' as is_returned,
       cast(case when o.status = 'completed' then o.subtotal_amount - o.discount_amount else 0 end
            as decimal(18, 2)) as net_revenue,
       coalesce(l.line_count, 0) as line_count, coalesce(l.item_quantity, 0) as item_quantity,
       coalesce(l.lines_subtotal_amount, 0) as lines_subtotal_amount
from staging.orders o left join line_totals l using (order_id);

-- @step dim_customers
create or replace table marts.dim_customers as
with summary as (
    select customer_id, min(order_date) as first_order_date, max(order_date) as last_order_date,
           count(*) as lifetime_order_count, count(*) filter (where is_completed) as completed_order_count,
           count(*) filter (where is_cancelled) as cancelled_order_count,
           count(*) filter (where is_returned) as returned_order_count, sum(net_revenue) as lifetime_net_revenue
    from marts.fct_orders group by customer_id
)
select c.*, date_diff('year', c.birth_date, current_date)
             - case when strftime(current_date, '%m%d') < strftime(c.birth_date, '%m%d') then 1 else 0 end as age_years,
       cast(c.signup_at as date) as signup_date, date_diff('day', cast(c.signup_at as date), current_date) as tenure_days,
       s.first_order_date, s.last_order_date, coalesce(s.lifetime_order_count, 0) as lifetime_order_count,
       coalesce(s.completed_order_count, 0) as completed_order_count,
       coalesce(s.cancelled_order_count, 0) as cancelled_order_count,
       coalesce(s.returned_order_count, 0) as returned_order_count,
       coalesce(s.lifetime_net_revenue, 0) as lifetime_net_revenue
from staging.customers c left join summary s using (customer_id);

-- @step customer_rfm
create or replace table marts.customer_rfm as
with reference as (select max(order_date) as reference_date from marts.fct_orders),
measures as (
    select customer_id, any_value(reference_date) as reference_date, min(order_date) as first_order_date,
           max(order_date) as last_order_date,
           date_diff('day', max(order_date), any_value(reference_date)) as recency_days,
           count(*) as frequency, cast(sum(net_revenue) as decimal(18, 2)) as monetary
    from marts.fct_orders cross join reference
    where status = 'completed' and order_date <= reference_date
    group by customer_id
)
select *,
       cast(least(5, 1 + floor(5 * percent_rank() over (order by recency_days desc))) as integer) as r_score,
       cast(least(5, 1 + floor(5 * percent_rank() over (order by frequency))) as integer) as f_score,
       cast(least(5, 1 + floor(5 * percent_rank() over (order by monetary))) as integer) as m_score
from measures;
