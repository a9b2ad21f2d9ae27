{#-
    The ML tables are written by Python after dbt's first run, so they may be
    missing: look them up at run time and join only what exists, leaving typed
    NULLs otherwise. source() is still called so the lineage is declared.
-#}
{%- set segments_relation = relation_if_exists('ml', 'customer_segments') -%}
{%- set churn_relation = relation_if_exists('ml', 'churn_scores') -%}
{%- set clv_relation = relation_if_exists('ml', 'customer_clv') -%}

with

customers as (
    select * from {{ ref('dim_customers') }}
),

rfm as (
    select * from {{ ref('customer_rfm') }}
),

lifecycle as (
    select * from {{ ref('customer_lifecycle') }}
),

preferences as (
    select * from {{ ref('int_customer_preferences') }}
),

sessions as (
    select * from {{ ref('fct_sessions') }}
),

tickets as (
    select * from {{ ref('fct_support_tickets') }}
),

responses as (
    select * from {{ ref('fct_survey_responses') }}
),

identities as (
    select * from {{ ref('int_identity_resolved') }}
),

mentions as (
    select * from {{ ref('stg_social__mentions') }}
),

reference as (
    {{ reference_date_select() }}
),

segments as (
    {% if segments_relation -%}
    select
        customer_key,
        cast(segment_id as {{ dbt.type_int() }}) as segment_id,
        cast(segment_name_en as {{ dbt.type_string() }}) as segment_name_en,
        cast(segment_name_zh as {{ dbt.type_string() }}) as segment_name_zh
    from {{ segments_relation }}
    {%- else -%}
    select
        cast(null as {{ dbt.type_string() }}) as customer_key,
        cast(null as {{ dbt.type_int() }}) as segment_id,
        cast(null as {{ dbt.type_string() }}) as segment_name_en,
        cast(null as {{ dbt.type_string() }}) as segment_name_zh
    where 1 = 0
    {%- endif %}
),

churn as (
    {% if churn_relation -%}
    select
        customer_key,
        cast(churn_probability as {{ type_double() }}) as churn_probability,
        cast(risk_decile as {{ dbt.type_int() }}) as churn_risk_decile,
        cast(top_driver as {{ dbt.type_string() }}) as churn_top_driver
    from {{ churn_relation }}
    {%- else -%}
    select
        cast(null as {{ dbt.type_string() }}) as customer_key,
        cast(null as {{ type_double() }}) as churn_probability,
        cast(null as {{ dbt.type_int() }}) as churn_risk_decile,
        cast(null as {{ dbt.type_string() }}) as churn_top_driver
    where 1 = 0
    {%- endif %}
),

clv as (
    {% if clv_relation -%}
    select
        customer_key,
        cast(prob_alive as {{ type_double() }}) as prob_alive,
        cast(expected_purchases as {{ type_double() }}) as expected_purchases,
        cast(expected_spend as {{ type_double() }}) as expected_spend,
        cast(clv as {{ type_double() }}) as clv
    from {{ clv_relation }}
    {%- else -%}
    select
        cast(null as {{ dbt.type_string() }}) as customer_key,
        cast(null as {{ type_double() }}) as prob_alive,
        cast(null as {{ type_double() }}) as expected_purchases,
        cast(null as {{ type_double() }}) as expected_spend,
        cast(null as {{ type_double() }}) as clv
    where 1 = 0
    {%- endif %}
),

session_summary as (
    select
        sessions.customer_key,
        count(*) as session_count,
        sum(case when sessions.converted then 1 else 0 end) as converted_session_count,
        sum(case when {{ dbt.datediff('sessions.session_date', 'reference.reference_date', 'day') }} < 30
            and sessions.session_date <= reference.reference_date then 1 else 0 end) as sessions_last_30_days,
        max(sessions.started_at) as last_visit_at
    from sessions
    cross join reference
    where sessions.customer_key is not null
    group by sessions.customer_key
),

ticket_summary as (
    select
        customer_key,
        count(*) as ticket_count,
        sum(case when is_closed then 0 else 1 end) as open_ticket_count,
        avg(cast(satisfaction_score as {{ type_double() }})) as avg_ticket_satisfaction
    from tickets
    where customer_key is not null
    group by customer_key
),

ranked_responses as (
    select
        responses.*,
        row_number() over (partition by customer_key order by responded_at desc, response_id desc) as recency_rank,
        count(*) over (partition by customer_key) as survey_response_count
    from responses
    where customer_key is not null
),

last_response as (
    select * from ranked_responses where recency_rank = 1
),

mention_summary as (
    select
        identities.customer_key,
        count(*) as social_mention_count
    from mentions
    inner join identities
        on identities.identifier_type = 'social_handle'
        and identities.identifier = {{ dbt.concat(['mentions.platform', "':'", 'mentions.handle']) }}
    where identities.customer_key is not null
    group by identities.customer_key
),

final as (
    select
        customers.customer_key,
        customers.gender,
        customers.age_band,
        customers.email_domain,
        customers.has_email,
        customers.city,
        customers.region,
        customers.country_code,
        customers.country_name,
        customers.acquisition_channel,
        customers.marketing_consent,
        customers.signup_date,
        customers.tenure_days,
        customers.tenure_band,
        customers.first_order_date,
        customers.last_order_date,
        customers.lifetime_order_count,
        customers.completed_order_count,
        customers.lifetime_net_revenue,
        {{ money_ratio('customers.lifetime_net_revenue', 'customers.completed_order_count') }}
            as average_order_value,
        lifecycle.reference_date,
        lifecycle.lifecycle_stage,
        lifecycle.days_since_last_purchase,
        rfm.recency_days,
        rfm.frequency,
        rfm.monetary,
        rfm.r_score,
        rfm.f_score,
        rfm.m_score,
        rfm.rfm_segment,
        preferences.favourite_category,
        preferences.favourite_channel,
        cast(coalesce(session_summary.session_count, 0) as {{ dbt.type_bigint() }}) as session_count,
        cast(coalesce(session_summary.converted_session_count, 0) as {{ dbt.type_bigint() }}) as converted_session_count,
        cast(coalesce(session_summary.sessions_last_30_days, 0) as {{ dbt.type_bigint() }}) as sessions_last_30_days,
        session_summary.last_visit_at,
        cast(coalesce(last_response.survey_response_count, 0) as {{ dbt.type_bigint() }}) as survey_response_count,
        last_response.nps_score as last_nps_score,
        last_response.nps_category as last_nps_category,
        last_response.responded_at as last_nps_at,
        cast(coalesce(ticket_summary.ticket_count, 0) as {{ dbt.type_bigint() }}) as ticket_count,
        cast(coalesce(ticket_summary.open_ticket_count, 0) as {{ dbt.type_bigint() }}) as open_ticket_count,
        ticket_summary.avg_ticket_satisfaction,
        cast(coalesce(mention_summary.social_mention_count, 0) as {{ dbt.type_bigint() }}) as social_mention_count,
        segments.segment_id,
        segments.segment_name_en,
        segments.segment_name_zh,
        churn.churn_probability,
        churn.churn_risk_decile,
        churn.churn_top_driver,
        clv.prob_alive,
        clv.expected_purchases,
        clv.expected_spend,
        clv.clv
    from customers
    left join lifecycle
        on customers.customer_key = lifecycle.customer_key
    left join rfm
        on customers.customer_key = rfm.customer_key
    left join preferences
        on customers.customer_key = preferences.customer_key
    left join session_summary
        on customers.customer_key = session_summary.customer_key
    left join ticket_summary
        on customers.customer_key = ticket_summary.customer_key
    left join last_response
        on customers.customer_key = last_response.customer_key
    left join mention_summary
        on customers.customer_key = mention_summary.customer_key
    left join segments
        on customers.customer_key = segments.customer_key
    left join churn
        on customers.customer_key = churn.customer_key
    left join clv
        on customers.customer_key = clv.customer_key
)

select * from final
