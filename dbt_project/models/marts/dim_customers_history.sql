with

snapshot as (
    select * from {{ crm_customer_versions() }} as versions
),

final as (
    select
        customer_version_id,
        customer_key,
        email_domain,
        has_email,
        has_phone,
        coalesce(gender, 'unknown') as gender,
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
