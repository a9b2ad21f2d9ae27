with

source as (
    select * from {{ source('marketing', 'campaign_events') }}
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

select * from final
