-- Stored, not a view: fct_sessions, the funnel and the tests read it; as a view each would re-sort
-- every event. Incremental per cookie on DuckDB (macros/incremental.sql): a run re-cuts every event
-- of the cookies with new events (or with events that retention removed) and replaces their rows.
{{
    config(
        materialized=per_cookie_materialization(),
        unique_key='anonymous_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        tags=['delivery_partitioned'],
        pre_hook="{{ add_missing_watermark_column('_loaded_at') }}",
        post_hook="{{ delete_rows_older_than_input('occurred_at', ref('stg_web__events'), 'occurred_at') }}"
    )
}}

{%- set timeout_seconds = var('session_timeout_minutes') * 60 -%}

with

{% if is_incremental() %}
changed_cookies as (
    {{ changed_cookies(ref('stg_web__events'), '_loaded_at', 'occurred_at', 'occurred_at') }}
),
{% endif %}

events as (
    select * from {{ ref('stg_web__events') }}
    {% if is_incremental() %}
    where anonymous_id in (select anonymous_id from changed_cookies)
    {% endif %}
),

-- Sessions are cut per cookie (anonymous_id), not per customer: a login in the
-- middle of a visit must not split it, and the events before the login belong
-- to the same visit.
with_gap as (
    select
        events.*,
        lag(occurred_at) over (
            partition by anonymous_id order by occurred_at, event_id
        ) as previous_occurred_at
    from events
),

flagged as (
    select
        with_gap.*,
        -- a gap of exactly the timeout still continues the visit: it has to be
        -- exceeded, as in the common "30 minutes of inactivity" rule
        case
            when previous_occurred_at is null then 1
            when {{ dbt.datediff('previous_occurred_at', 'occurred_at', 'second') }} > {{ timeout_seconds }} then 1
            else 0
        end as is_session_start
    from with_gap
),

numbered as (
    select
        flagged.*,
        sum(is_session_start) over (
            partition by anonymous_id order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as session_number
    from flagged
),

final as (
    select
        {{ dbt.concat(['anonymous_id', "'-'", dbt.safe_cast('session_number', dbt.type_string())]) }} as session_id,
        cast(session_number as {{ dbt.type_bigint() }}) as session_number,
        cast(row_number() over (
            partition by anonymous_id, session_number order by occurred_at, event_id
        ) as {{ dbt.type_bigint() }}) as event_number_in_session,
        event_id,
        anonymous_id,
        customer_key,
        occurred_at,
        event_type,
        product_id,
        page_url,
        search_query,
        device,
        utm_source,
        utm_medium,
        utm_campaign,
        is_session_start = 1 as is_session_start,
        -- the watermark of the next incremental run
        _loaded_at
    from numbered
)

-- when this run wrote the row: a partitioned run's dbt tests read these (macros/tests_on_changed_rows.sql)
select *, {{ built_at() }} as _built_at from final
