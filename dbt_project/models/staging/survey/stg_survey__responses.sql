with

source as (
    select * from {{ source('survey', 'survey_responses') }}
),

latest as (
    {{ dedupe_latest('source', ['response_id']) }}
),

final as (
    select
        {{ clean_string('response_id') }} as response_id,
        {{ clean_string('customer_id') }} as customer_id,
        cast(responded_at as {{ dbt.type_timestamp() }}) as responded_at,
        cast(nps_score as {{ dbt.type_int() }}) as nps_score,
        {{ clean_string('comment') }} as comment,
        _batch_id,
        _loaded_at
    from latest
)

select * from final
