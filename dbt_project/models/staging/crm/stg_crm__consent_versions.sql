-- Every consent state the CRM ever sent, not only the latest: raw keeps each delivered
-- version of a customer, and consent history needs all of them (the snapshot only sees
-- what existed at each build).
-- Stored, not a view: customer_consent_history and four tests read it, and as a view each re-ran the
-- de-duplication over every CRM version. Rebuilt whole every run, like stg_crm__customers.
{{ config(materialized='table') }}

with

source as (
    select * from {{ source('crm', 'customers') }}
),

pseudonyms as (
    select * from {{ source('pseudonyms', 'customer_pseudonyms') }}
),

-- the same version delivered twice (or re-sent unchanged) counts once
versions as (
    {{ dedupe_latest('source', [clean_string('customer_id'), 'updated_at']) }}
),

final as (
    select
        pseudonyms.customer_key,
        cast(versions.marketing_consent as {{ dbt.type_boolean() }}) as marketing_consent,
        cast(versions.updated_at as {{ dbt.type_timestamp() }}) as updated_at
    from versions
    inner join pseudonyms
        on {{ clean_string('versions.customer_id') }} = pseudonyms.customer_id
)

select * from final
