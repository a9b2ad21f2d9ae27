-- The rest of the floor: the other sources loaded and deduplicated, order lines, products and
-- the sessionised clickstream (the largest table by far). Run after customer_marts.sql.

-- @step load_products
create or replace table raw.products as
select * from read_json('{landing}/products/*/*.jsonl', format = 'newline_delimited', filename = true,
                        ignore_errors = true,
                        columns = {product_id: 'VARCHAR', name: 'VARCHAR', category: 'VARCHAR', brand: 'VARCHAR',
                                   price: 'VARCHAR', updated_at: 'VARCHAR'})
where nullif(trim(product_id), '') is not null and try_cast(price as decimal(18, 2)) >= 0
  and try_cast(updated_at as timestamp) is not null;

-- @step load_web_events
create or replace table raw.web_events as
select * from read_json('{landing}/web_events/*/*.jsonl', format = 'newline_delimited', filename = true,
                        ignore_errors = true,
                        columns = {event_id: 'VARCHAR', anonymous_id: 'VARCHAR', customer_id: 'VARCHAR',
                                   occurred_at: 'VARCHAR', event_type: 'VARCHAR', product_id: 'VARCHAR',
                                   page_url: 'VARCHAR', search_query: 'VARCHAR', device: 'VARCHAR',
                                   utm_source: 'VARCHAR', utm_medium: 'VARCHAR', utm_campaign: 'VARCHAR'})
where nullif(trim(event_id), '') is not null and nullif(trim(anonymous_id), '') is not null
  and try_cast(occurred_at as timestamp) is not null
  and lower(trim(event_type)) in ('page_view', 'product_view', 'search', 'add_to_cart', 'checkout', 'purchase');

-- @step load_small_sources
create or replace table raw.support_tickets as
select * from read_csv('{landing}/support_tickets/*/*.csv', all_varchar = true, header = true, filename = true, union_by_name = true,
                       ignore_errors = true, null_padding = true)
where nullif(trim(ticket_id), '') is not null and try_cast(opened_at as timestamp) is not null
  and try_cast(updated_at as timestamp) is not null;
create or replace table raw.survey_responses as
select * from read_json('{landing}/survey_responses/*/*.jsonl', format = 'newline_delimited', filename = true,
                        ignore_errors = true, columns = {response_id: 'VARCHAR', customer_id: 'VARCHAR',
                                                         responded_at: 'VARCHAR', nps_score: 'VARCHAR',
                                                         comment: 'VARCHAR'})
where nullif(trim(response_id), '') is not null and try_cast(nps_score as integer) between 0 and 10;
create or replace table raw.social_mentions as
select * from read_json('{landing}/social_mentions/*/*.jsonl', format = 'newline_delimited', filename = true,
                        ignore_errors = true)
where nullif(trim(post_id), '') is not null;
create or replace table raw.campaign_events as
select * from read_csv('{landing}/campaign_events/*/*.csv', all_varchar = true, header = true, filename = true, union_by_name = true,
                       ignore_errors = true, null_padding = true)
where nullif(trim(event_id), '') is not null and try_cast(occurred_at as timestamp) is not null;
create or replace table raw.privacy_requests as
select * from read_csv('{landing}/privacy_requests/*/*.csv', all_varchar = true, header = true, filename = true, union_by_name = true,
                       ignore_errors = true, null_padding = true)
where nullif(trim(request_id), '') is not null;

-- @step stg_small_sources
create or replace table staging.support_tickets as
select * from raw.support_tickets
qualify row_number() over (partition by ticket_id order by cast(updated_at as timestamp) desc, filename desc) = 1;
create or replace table staging.survey_responses as
select * from raw.survey_responses qualify row_number() over (partition by response_id order by filename desc) = 1;
create or replace table staging.social_mentions as
select * from raw.social_mentions qualify row_number() over (partition by post_id order by filename desc) = 1;
create or replace table staging.campaign_events as
select * from raw.campaign_events qualify row_number() over (partition by event_id order by filename desc) = 1;

-- @step dim_products
create or replace table marts.dim_products as
select trim(product_id) as product_id, nullif(trim(name), '') as name, lower(trim(category)) as category,
       nullif(trim(brand), '') as brand, cast(price as decimal(18, 2)) as price,
       cast(updated_at as timestamp) as updated_at
from raw.products
qualify row_number() over (partition by product_id order by cast(updated_at as timestamp) desc, filename desc) = 1;

-- @step fct_order_items
create or replace table marts.fct_order_items as
select i.order_id || '-' || i.line_number as order_item_id, i.*, o.customer_id, o.order_date, o.status,
       p.category
from staging.order_items i
join marts.fct_orders o using (order_id)
left join marts.dim_products p using (product_id);

-- @step stg_web_events
create or replace table staging.web_events as
select trim(event_id) as event_id, trim(anonymous_id) as anonymous_id, nullif(trim(customer_id), '') as customer_id,
       cast(occurred_at as timestamp) as occurred_at, lower(trim(event_type)) as event_type,
       nullif(trim(product_id), '') as product_id, nullif(trim(page_url), '') as page_url,
       nullif(trim(search_query), '') as search_query, lower(nullif(trim(device), '')) as device,
       lower(nullif(trim(utm_source), '')) as utm_source, lower(nullif(trim(utm_medium), '')) as utm_medium,
       nullif(trim(utm_campaign), '') as utm_campaign
from raw.web_events
qualify row_number() over (partition by event_id order by filename desc) = 1;

-- @step fct_sessions
create or replace table marts.fct_sessions as
with flagged as (
    select *, case when lag(occurred_at) over w is null
                     or date_diff('second', lag(occurred_at) over w, occurred_at) > 1800 then 1 else 0 end as is_start
    from staging.web_events
    window w as (partition by anonymous_id order by occurred_at, event_id)
),
numbered as (
    select *, sum(is_start) over (partition by anonymous_id order by occurred_at, event_id
                                  rows between unbounded preceding and current row) as session_number
    from flagged
)
select anonymous_id || '-' || session_number as session_id, anonymous_id, max(customer_id) as customer_id,
       min(occurred_at) as started_at, max(occurred_at) as ended_at, count(*) as event_count,
       count(*) filter (where event_type = 'page_view') as page_views,
       count(*) filter (where event_type = 'product_view') as product_views,
       count(*) filter (where event_type = 'add_to_cart') as add_to_carts,
       bool_or(event_type = 'purchase') as converted, arg_min(device, occurred_at) as device,
       arg_min(utm_source, occurred_at) as utm_source
from numbered
group by anonymous_id, session_number;
