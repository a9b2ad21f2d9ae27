with

tickets as (
    select * from {{ ref('stg_helpdesk__support_tickets') }}
),

final as (
    select
        ticket_id,
        customer_id,
        opened_at,
        cast(opened_at as date) as opened_date,
        closed_at,
        is_closed,
        channel,
        category,
        satisfaction_score,
        satisfaction_score <= {{ var('low_satisfaction_max') }} as is_low_satisfaction,
        cast({{ dbt.datediff('opened_at', 'closed_at', 'second') }} / 3600.0 as {{ type_double() }})
            as resolution_hours,
        description
    from tickets
)

select * from final
