-- Built after the dimension its customer_key references, as the order facts are, so its
-- relationship test runs in the same dbt invocation.
-- depends_on: {{ ref('dim_customers') }}

-- Incremental per cookie on DuckDB, like the sessionised events it reads (macros/incremental.sql):
-- a cookie's visits are recomputed when its events were re-cut. A cookie's resolved identity
-- (int_identity_resolved) comes from that cookie's own events, so it only changes with them.
{{
    config(
        materialized=group_replacing_materialization(),
        unique_key='anonymous_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        tags=['delivery_partitioned'],
        pre_hook="{{ add_missing_watermark_column('source_loaded_at') }}",
        post_hook="{{ delete_rows_older_than_input('started_at', ref('int_web_events_sessionized'), 'occurred_at') }}"
    )
}}

{%- set success_prefix = '/checkout/success/' -%}

with

{% if is_incremental() %}
changed_cookies as (
    {{ changed_cookies(ref('int_web_events_sessionized'), 'source_loaded_at', 'started_at', 'occurred_at') }}
),
{% endif %}

events as (
    select * from {{ ref('int_web_events_sessionized') }}
    {% if is_incremental() %}
    where anonymous_id in (select anonymous_id from changed_cookies)
    {% endif %}
),

identities as (
    select * from {{ ref('int_identity_resolved') }}
    where identifier_type = 'anonymous_id'
),

session_totals as (
    select
        session_id,
        anonymous_id,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as event_count,
        sum(case when event_type = 'page_view' then 1 else 0 end) as page_view_count,
        sum(case when event_type = 'search' then 1 else 0 end) as search_count,
        sum(case when event_type = 'product_view' then 1 else 0 end) as product_view_count,
        sum(case when event_type = 'add_to_cart' then 1 else 0 end) as add_to_cart_count,
        sum(case when event_type = 'checkout' then 1 else 0 end) as checkout_count,
        sum(case when event_type = 'purchase' then 1 else 0 end) as purchase_count,
        -- the app sends no page paths, the web always does
        count(page_url) as events_with_page,
        -- one login per visit in practice; max() keeps it deterministic otherwise
        max(customer_key) as logged_in_customer_key,
        min(device) as any_device,
        max(case
            when page_url like '{{ success_prefix }}%'
            then substr(page_url, {{ success_prefix | length + 1 }})
        end) as order_id,
        max(_loaded_at) as source_loaded_at
    from events
    group by session_id, anonymous_id
),

landing as (
    select
        session_id,
        page_url as landing_page,
        event_type as landing_event_type,
        device as landing_device,
        utm_source,
        utm_medium,
        utm_campaign
    from events
    where event_number_in_session = 1
),

final as (
    select
        session_totals.session_id,
        session_totals.anonymous_id,
        coalesce(session_totals.logged_in_customer_key, identities.customer_key) as customer_key,
        case
            when session_totals.logged_in_customer_key is not null then 'logged_in'
            when identities.customer_key is not null then 'cookie_history'
            else 'anonymous'
        end as identity_source,
        session_totals.started_at,
        session_totals.ended_at,
        cast(session_totals.started_at as date) as session_date,
        cast({{ dbt.datediff('session_totals.started_at', 'session_totals.ended_at', 'second') }} as {{ dbt.type_bigint() }})
            as duration_seconds,
        case when session_totals.events_with_page > 0 then 'web' else 'app' end as platform,
        coalesce(landing.landing_device, session_totals.any_device) as device,
        landing.landing_page,
        landing.landing_event_type,
        landing.utm_source,
        landing.utm_medium,
        landing.utm_campaign,
        coalesce(landing.utm_medium, 'none') as traffic_medium,
        coalesce(landing.utm_source, 'direct') as traffic_source,
        cast(session_totals.event_count as {{ dbt.type_bigint() }}) as event_count,
        cast(session_totals.page_view_count as {{ dbt.type_bigint() }}) as page_view_count,
        cast(session_totals.search_count as {{ dbt.type_bigint() }}) as search_count,
        cast(session_totals.product_view_count as {{ dbt.type_bigint() }}) as product_view_count,
        cast(session_totals.add_to_cart_count as {{ dbt.type_bigint() }}) as add_to_cart_count,
        cast(session_totals.checkout_count as {{ dbt.type_bigint() }}) as checkout_count,
        cast(session_totals.purchase_count as {{ dbt.type_bigint() }}) as purchase_count,
        -- funnel steps are cumulative so step counts can only shrink down the funnel
        session_totals.product_view_count > 0 as reached_product_view,
        session_totals.product_view_count > 0 and session_totals.add_to_cart_count > 0 as reached_add_to_cart,
        session_totals.product_view_count > 0 and session_totals.add_to_cart_count > 0
            and session_totals.checkout_count > 0 as reached_checkout,
        session_totals.product_view_count > 0 and session_totals.add_to_cart_count > 0
            and session_totals.checkout_count > 0 and session_totals.purchase_count > 0 as reached_purchase,
        session_totals.purchase_count > 0 as converted,
        session_totals.order_id,
        session_totals.source_loaded_at
    from session_totals
    left join landing
        on session_totals.session_id = landing.session_id
    left join identities
        on session_totals.anonymous_id = identities.identifier
)

-- when this run wrote the row: a partitioned run's dbt tests read these (macros/tests_on_changed_rows.sql)
select *, {{ built_at() }} as _built_at from final
