with

source as (
    select * from {{ source('marketing', 'campaign_events') }}
),

latest as (
    {{ dedupe_latest('source', ['event_id']) }}
),

final as (
    select
        {{ clean_string('event_id') }} as campaign_event_id,
        {{ clean_string('campaign_id') }} as campaign_id,
        {{ clean_code('variant') }} as variant,
        {{ clean_string('customer_id') }} as customer_id,
        {{ clean_code('event_type') }} as event_type,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        _batch_id,
        _loaded_at
    from latest
)

select * from final
