-- Personal data: built after erasures are applied, like every model keyed by the pseudonym map.
-- depends_on: {{ source('pseudonyms', 'customer_pseudonyms') }}

with

source as (
    select * from {{ source('privacy', 'privacy_requests') }}
),

latest as (
    {{ dedupe_latest('source', ['request_id']) }}
),

final as (
    select
        {{ clean_string('request_id') }} as request_id,
        {{ clean_string('customer_id') }} as customer_id,
        -- same normalisation as stg_crm__customers.email so requests match customers
        {{ normalize_email('email') }} as email,
        {{ clean_code('request_type') }} as request_type,
        cast(requested_at as {{ dbt.type_timestamp() }}) as requested_at,
        _batch_id,
        _loaded_at
    from latest
)

select * from final
