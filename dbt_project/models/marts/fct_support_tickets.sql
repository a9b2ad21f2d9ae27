with

tickets as (
    select * from {{ ref('stg_helpdesk__support_tickets') }}
),

final as (
    select
        ticket_id,
        customer_key,
        opened_at,
        cast(opened_at as date) as opened_date,
        closed_at,
        is_closed,
        channel,
        category,
        satisfaction_score,
        satisfaction_score <= {{ var('low_satisfaction_max') }} as is_low_satisfaction,
        -- A double divisor: Spark divides an integer by the literal 3600.0 as DECIMAL, keeping 6 digits.
        cast({{ dbt.datediff('opened_at', 'closed_at', 'second') }} / cast(3600 as {{ type_double() }}) as {{ type_double() }})
            as resolution_hours,
        description
    from tickets
)

select * from final
