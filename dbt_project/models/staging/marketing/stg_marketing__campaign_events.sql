-- Stored, not a view: the experiment results and the column tests read every touch; as a view each
-- of them re-ran the de-duplication window over all of raw.campaign_events, every day.
-- Incremental (macros/incremental.sql): a run re-stages only the touches with a raw row loaded since
-- the last build or delivered in the partition window; the newest load wins (macros/incremental.sql,
-- newest_load_wins), so the older versions are read only for touches the window selects without a new row.
-- Touches that raw event retention deleted leave with the post-hook.
{{
    config(
        materialized='incremental',
        unique_key='campaign_event_id',
        incremental_strategy=incremental_strategy_for_target(),
        on_schema_change='append_new_columns',
        tags=['delivery_partitioned'],
        post_hook="{{ delete_rows_older_than_input('occurred_at', source('marketing', 'campaign_events'), 'occurred_at') }}"
    )
}}

with

source as (
    {{ raw_versions_of_changed_keys(source('marketing', 'campaign_events'), 'event_id', newest_load_wins=true) }}
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
        {{ clean_string('event_id') }} as campaign_event_id,
        {{ clean_string('campaign_id') }} as campaign_id,
        {{ clean_code('variant') }} as variant,
        pseudonyms.customer_key,
        {{ clean_code('event_type') }} as event_type,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        _batch_id,
        _loaded_at
    from latest
    left join pseudonyms
        on {{ clean_string('latest.customer_id') }} = pseudonyms.customer_id
)

-- when this run wrote the row: a partitioned run's dbt tests read these (macros/tests_on_changed_rows.sql)
select *, {{ built_at() }} as _built_at from final
