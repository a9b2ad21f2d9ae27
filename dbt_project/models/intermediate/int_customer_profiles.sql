-- The CRM profile without direct identifiers, keyed by the pseudonym. The snapshot keeps the
-- history of this, so customer history never holds a name, e-mail, phone or birth date.
-- In the partitioned dbt asset with the staging it reads and the snapshot that reads it.
{{ config(tags=['delivery_partitioned']) }}
with

customers as (
    select * from {{ ref('stg_crm__customers') }}
),

final as (
    select
        customer_key,
        email_domain,
        email is not null as has_email,
        phone is not null as has_phone,
        gender,
        city,
        region,
        country_code,
        country_name,
        signup_at,
        acquisition_channel,
        marketing_consent,
        updated_at
    from customers
)

select * from final
