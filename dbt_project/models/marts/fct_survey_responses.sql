with

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

tickets as (
    select * from {{ ref('stg_helpdesk__support_tickets') }}
),

-- The survey often follows a support contact; a badly rated ticket closed
-- before the response is the first thing to check when a score drops.
low_rated_tickets as (
    select
        customer_key,
        closed_at
    from tickets
    where is_closed
      and satisfaction_score <= {{ var('low_satisfaction_max') }}
),

flagged as (
    select
        responses.response_id,
        max(case when low_rated_tickets.closed_at is not null then 1 else 0 end) as after_low_satisfaction_ticket
    from responses
    left join low_rated_tickets
        on responses.customer_key = low_rated_tickets.customer_key
        and low_rated_tickets.closed_at < responses.responded_at
    group by responses.response_id
),

final as (
    select
        responses.response_id,
        responses.customer_key,
        responses.responded_at,
        cast(responses.responded_at as date) as response_date,
        cast({{ dbt.date_trunc('month', 'responses.responded_at') }} as date) as response_month,
        responses.nps_score,
        case
            when responses.nps_score >= 9 then 'promoter'
            when responses.nps_score >= 7 then 'passive'
            when responses.nps_score >= 0 then 'detractor'
        end as nps_category,
        flagged.after_low_satisfaction_ticket = 1 as after_low_satisfaction_ticket,
        responses.comment
    from responses
    inner join flagged
        on responses.response_id = flagged.response_id
)

select * from final
