with

source as (
    select * from {{ source('helpdesk', 'support_tickets') }}
),

-- Tickets are re-sent when closed or rated; the latest version has both.
latest as (
    {{ dedupe_latest('source', ['ticket_id'], ['updated_at desc']) }}
),

final as (
    select
        {{ clean_string('ticket_id') }} as ticket_id,
        {{ clean_string('customer_id') }} as customer_id,
        cast(opened_at as {{ dbt.type_timestamp() }}) as opened_at,
        cast(closed_at as {{ dbt.type_timestamp() }}) as closed_at,
        closed_at is not null as is_closed,
        {{ clean_code('channel') }} as channel,
        {{ clean_code('category') }} as category,
        cast(satisfaction as {{ dbt.type_int() }}) as satisfaction_score,
        {{ clean_string('description') }} as description,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        _batch_id,
        _loaded_at
    from latest
)

select * from final
