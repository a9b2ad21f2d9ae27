with

source as (
    select * from {{ source('helpdesk', 'support_tickets') }}
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

select * from final
