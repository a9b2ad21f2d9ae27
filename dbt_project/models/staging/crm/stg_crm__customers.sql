-- Stored, not a view: the customer models (profiles, dim_customers, identity resolution, the CRM
-- snapshot, dim_date), the model inputs, the privacy scans and eleven column tests read it; as a view
-- each of them re-ran the de-duplication over every CRM version. Rebuilt whole every run (not incremental:
-- the CRM is read whole); an erasure deletes the person from it as from every built table before dbt runs.
{{ config(materialized='table') }}

with

source as (
    select * from {{ source('crm', 'customers') }}
),

country_codes as (
    select * from {{ ref('country_codes') }}
),

-- Restricted map to the pseudonymous key (the only model that keeps both: it is the link
-- between the CRM and everything published).
pseudonyms as (
    select * from {{ source('pseudonyms', 'customer_pseudonyms') }}
),

latest as (
    {{ dedupe_latest('source', ['customer_id'], ['updated_at desc']) }}
),

renamed as (
    select
        {{ clean_string('customer_id') }} as customer_id,
        {{ normalize_email('email') }} as email,
        {{ clean_string('phone') }} as phone_as_delivered,
        {{ digits_only(clean_string('phone')) }} as phone_digits,
        {{ clean_string('first_name') }} as first_name,
        {{ clean_string('last_name') }} as last_name,
        {{ clean_code('gender') }} as gender,
        cast(birth_date as date) as birth_date,
        {{ clean_string('city') }} as city,
        {{ clean_string('region') }} as region,
        {{ country_lookup_key('country') }} as country_lookup_key,
        cast(signup_at as {{ dbt.type_timestamp() }}) as signup_at,
        {{ clean_code('acquisition_channel') }} as acquisition_channel,
        cast(marketing_consent as {{ dbt.type_boolean() }}) as marketing_consent,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        _batch_id,
        _loaded_at
    from latest
),

with_country as (
    select
        renamed.*,
        pseudonyms.customer_key,
        country_codes.country_code,
        country_codes.country_name,
        country_codes.calling_code
    from renamed
    left join country_codes
        on renamed.country_lookup_key = country_codes.lookup_key
    left join pseudonyms
        on renamed.customer_id = pseudonyms.customer_id
),

final as (
    select
        customer_id,
        customer_key,
        email,
        -- derived, not identifying: what published tables get instead of the address
        {{ dbt.split_part('email', "'@'", 2) }} as email_domain,
        {{ phone_to_e164('phone_as_delivered', 'phone_digits', 'calling_code') }} as phone,
        phone_as_delivered,
        first_name,
        last_name,
        gender,
        birth_date,
        city,
        region,
        country_code,
        country_name,
        signup_at,
        acquisition_channel,
        marketing_consent,
        updated_at,
        _batch_id,
        _loaded_at
    from with_country
)

select * from final
