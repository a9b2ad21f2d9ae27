with

versions as (
    select * from {{ ref('stg_crm__consent_versions') }}
),

ordered as (
    select
        versions.*,
        lag(marketing_consent) over (partition by customer_key order by updated_at) as previous_consent
    from versions
),

-- A period starts with a customer's first version and with every version whose consent
-- differs from the one before; versions that repeat the consent (an address change) do not.
period_starts as (
    select customer_key, marketing_consent, updated_at
    from ordered
    where previous_consent is null or previous_consent <> marketing_consent
),

periods as (
    select
        customer_key,
        marketing_consent,
        updated_at as consent_from,
        lead(updated_at) over (partition by customer_key order by updated_at) as consent_to
    from period_starts
),

final as (
    select
        {{ dbt.concat(['customer_key', "'|'", dbt.safe_cast('consent_from', dbt.type_string())]) }} as consent_period_id,
        customer_key,
        marketing_consent,
        consent_from,
        consent_to,
        consent_to is null as is_current
    from periods
)

select * from final
