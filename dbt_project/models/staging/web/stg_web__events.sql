-- Stored, not a view: the biggest source is read by sessionisation, identity resolution, the
-- models' activity features and its own tests; as a view each of them would dedupe it again.
-- Incremental (macros/incremental.sql): a run re-stages only the events with a raw row loaded
-- since the last build or delivered in the partition window. The newest load wins, so a re-delivery
-- replaces the older version from its new row alone; an event the window selects without a new row
-- is chosen again from every raw version. Events that raw event retention deleted leave with the
-- post-hook.
{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy=incremental_strategy_for_target(),
        on_schema_change='append_new_columns',
        tags=['delivery_partitioned'],
        post_hook="{{ delete_rows_older_than_input('occurred_at', source('web', 'web_events'), 'occurred_at') }}"
    )
}}

with

source as (
    {{ raw_versions_of_changed_keys(source('web', 'web_events'), 'event_id', newest_load_wins=true) }}
),

-- Restricted map to the pseudonymous key: nothing after staging sees the CRM id.
pseudonyms as (
    select * from {{ source('pseudonyms', 'customer_pseudonyms') }}
),

latest as (
    {{ dedupe_latest('source', ['event_id']) }}
),

final as (
    select
        {{ clean_string('event_id') }} as event_id,
        {{ clean_string('anonymous_id') }} as anonymous_id,
        pseudonyms.customer_key,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        {{ clean_code('event_type') }} as event_type,
        {{ clean_string('product_id') }} as product_id,
        {{ clean_string('page_url') }} as page_url,
        {{ redact_contact_details(clean_string('search_query')) }} as search_query,
        {{ clean_code('device') }} as device,
        {{ clean_code('utm_source') }} as utm_source,
        {{ clean_code('utm_medium') }} as utm_medium,
        {{ clean_string('utm_campaign') }} as utm_campaign,
        _batch_id,
        _loaded_at
    from latest
    left join pseudonyms
        on {{ clean_string('latest.customer_id') }} = pseudonyms.customer_id
)

-- when this run wrote the row: a partitioned run's dbt tests read these (macros/tests_on_changed_rows.sql)
select *, {{ built_at() }} as _built_at from final
