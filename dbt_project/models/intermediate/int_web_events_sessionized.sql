-- Stored, not a view: fct_sessions, the funnel and the tests read it; as a view each would re-sort
-- every event. Incremental on DuckDB (macros/incremental.sql): a run re-cuts each affected cookie's
-- events from its first session that can change and replaces those rows, keyed by event_id.
{{
    config(
        materialized=group_replacing_materialization(),
        unique_key='event_id',
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
-- The events staged since this table's watermark: new ones and new versions of old ones.
changed_events as (
    select event_id, anonymous_id, occurred_at
    from {{ ref('stg_web__events') }}
    where {{ loaded_since_last_build('_loaded_at') }}
),

-- The earliest moment each affected cookie's visits can change: a changed event's time, the
-- place an event held before it changed (a re-delivery may move it in time or to another
-- cookie), or the cookie's very start when retention removed part of its history (every
-- later visit renumbers).
change_points as (
    select anonymous_id, min(changed_at) as changed_at
    from (
        select anonymous_id, occurred_at as changed_at
        from changed_events
        union all
        select previous.anonymous_id, previous.occurred_at
        from {{ this }} as previous
        inner join changed_events
            on previous.event_id = changed_events.event_id
        union all
        select anonymous_id, cast('1900-01-01 00:00:00' as {{ dbt.type_timestamp() }})
        from {{ this }}
        where occurred_at < (select min(occurred_at) from {{ ref('stg_web__events') }})
    ) as changes
    group by anonymous_id
),

previous_sessions as (
    select
        anonymous_id,
        session_number,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at
    from {{ this }}
    where anonymous_id in (select anonymous_id from change_points)
    group by anonymous_id, session_number
),

-- A visit that ended more than the timeout before the change point stays as it is: whatever event
-- comes next, old or new, is more than the timeout away. Those kept visits come first in the cookie.
-- Every event after the last kept visit is cut again, numbered on from it (a cookie with no kept visit
-- starts at 1). recut_from is the earliest of those events: the change itself, or the start of the
-- first stored visit not kept (every other event of the cookie is stored in some visit).
{%- set is_kept -%}
    previous.ended_at < {{ dbt.dateadd('second', -timeout_seconds, 'change_points.changed_at') }}
{%- endset %}
recut_points as (
    select
        change_points.anonymous_id,
        coalesce(max(case when {{ is_kept }} then previous.session_number end), 0) + 1 as first_session_number,
        max(case when {{ is_kept }} then previous.ended_at end) as kept_until,
        least(
            change_points.changed_at,
            coalesce(min(case when not ({{ is_kept }}) then previous.started_at end), change_points.changed_at)
        ) as recut_from
    from change_points
    left join previous_sessions as previous
        on change_points.anonymous_id = previous.anonymous_id
    group by change_points.anonymous_id, change_points.changed_at
),

-- The time bound repeats the per-cookie condition for all cookies at once, so the scan skips the row
-- groups of older events (most of the clickstream) instead of joining every event on its cookie.
events as (
    select
        staged.*,
        recut_points.first_session_number
    from {{ ref('stg_web__events') }} as staged
    inner join recut_points
        on staged.anonymous_id = recut_points.anonymous_id
    where (recut_points.kept_until is null or staged.occurred_at > recut_points.kept_until)
        and staged.occurred_at >= (select min(recut_from) from recut_points)
),
{% else %}
events as (
    select
        staged.*,
        cast(1 as {{ dbt.type_bigint() }}) as first_session_number
    from {{ ref('stg_web__events') }} as staged
),
{% endif %}

-- Sessions are cut per cookie (anonymous_id), not per customer: a login in the
-- middle of a visit must not split it, and the events before the login belong
-- to the same visit.
-- Every window below orders a cookie's events the same way, so each level costs one sort: the
-- position in the visit comes from the position in the cookie, not from a third window per visit.
with_gap as (
    select
        events.*,
        lag(occurred_at) over (
            partition by anonymous_id order by occurred_at, event_id
        ) as previous_occurred_at,
        row_number() over (
            partition by anonymous_id order by occurred_at, event_id
        ) as event_number_in_cookie
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
        first_session_number - 1 + sum(is_session_start) over (
            partition by anonymous_id order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as session_number,
        max(case when is_session_start = 1 then event_number_in_cookie end) over (
            partition by anonymous_id order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as session_start_in_cookie
    from flagged
),

final as (
    select
        {{ dbt.concat(['anonymous_id', "'-'", dbt.safe_cast('session_number', dbt.type_string())]) }} as session_id,
        cast(session_number as {{ dbt.type_bigint() }}) as session_number,
        cast(event_number_in_cookie - session_start_in_cookie + 1 as {{ dbt.type_bigint() }}) as event_number_in_session,
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
