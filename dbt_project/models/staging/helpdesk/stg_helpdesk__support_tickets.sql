-- Stored, not a view: the ticket and survey marts, the model inputs and the column tests read every
-- ticket; as a view each of them re-ran the de-duplication window over all of raw.support_tickets.
-- Incremental (macros/incremental.sql): a run re-stages only the tickets with a raw version loaded
-- since the last build or delivered in the partition window, from every raw version of those
-- tickets, so a ticket re-sent when closed or rated replaces its older version.
{{
    config(
        materialized='incremental',
        unique_key='ticket_id',
        incremental_strategy=incremental_strategy_for_target(),
        on_schema_change='append_new_columns',
        tags=['delivery_partitioned']
    )
}}

with

source as (
    {{ raw_versions_of_changed_keys(source('helpdesk', 'support_tickets'), 'ticket_id') }}
),

-- Restricted map to the pseudonymous key: nothing after staging sees the CRM id.
pseudonyms as (
    select * from {{ source('pseudonyms', 'customer_pseudonyms') }}
),

-- Tickets are re-sent when closed or rated; the latest version has both.
latest as (
    {{ dedupe_latest('source', ['ticket_id'], ['updated_at desc']) }}
),

final as (
    select
        {{ clean_string('ticket_id') }} as ticket_id,
        pseudonyms.customer_key,
        cast(opened_at as {{ dbt.type_timestamp() }}) as opened_at,
        cast(closed_at as {{ dbt.type_timestamp() }}) as closed_at,
        closed_at is not null as is_closed,
        {{ clean_code('channel') }} as channel,
        {{ clean_code('category') }} as category,
        cast(satisfaction as {{ dbt.type_int() }}) as satisfaction_score,
        {{ redact_contact_details(clean_string('description')) }} as description,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        _batch_id,
        _loaded_at
    from latest
    left join pseudonyms
        on {{ clean_string('latest.customer_id') }} = pseudonyms.customer_id
)

-- when this run wrote the row: a partitioned run's dbt tests read these (macros/tests_on_changed_rows.sql)
select *, {{ built_at() }} as _built_at from final
