with

source as (
    select * from {{ source('survey', 'survey_responses') }}
),

-- Restricted map to the pseudonymous key: nothing after staging sees the CRM id.
pseudonyms as (
    select * from {{ source('pseudonyms', 'customer_pseudonyms') }}
),

latest as (
    {{ dedupe_latest('source', ['response_id']) }}
),

final as (
    select
        {{ clean_string('response_id') }} as response_id,
        pseudonyms.customer_key,
        cast(responded_at as {{ dbt.type_timestamp() }}) as responded_at,
        cast(nps_score as {{ dbt.type_int() }}) as nps_score,
        {{ redact_contact_details(clean_string('comment')) }} as comment,
        _batch_id,
        _loaded_at
    from latest
    left join pseudonyms
        on {{ clean_string('latest.customer_id') }} = pseudonyms.customer_id
)

select * from final
