with

snapshot as (
    select * from {{ crm_customer_versions() }} as versions
),

final as (
    select
        customer_version_id,
        customer_id,
        email,
        phone,
        first_name,
        last_name,
        coalesce(gender, 'unknown') as gender,
        birth_date,
        city,
        region,
        country_code,
        country_name,
        signup_at,
        acquisition_channel,
        marketing_consent,
        valid_from,
        valid_to,
        valid_to is null as is_current
    from snapshot
)

select * from final
