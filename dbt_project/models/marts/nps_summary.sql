with

responses as (
    select * from {{ ref('fct_survey_responses') }}
),

rfm as (
    select * from {{ ref('customer_rfm') }}
),

preferences as (
    select * from {{ ref('int_customer_preferences') }}
),

described as (
    select
        responses.response_month,
        responses.nps_category,
        coalesce(rfm.rfm_segment, 'No purchase yet') as rfm_segment,
        coalesce(preferences.favourite_channel, 'none') as favourite_channel
    from responses
    left join rfm
        on responses.customer_key = rfm.customer_key
    left join preferences
        on responses.customer_key = preferences.customer_key
),

-- One long table instead of three: the same counts per month overall, per
-- segment and per channel, so BI filters on `breakdown`.
stacked as (
    select response_month, 'overall' as breakdown, 'all' as breakdown_value, nps_category from described
    union all
    select response_month, 'rfm_segment', rfm_segment, nps_category from described
    union all
    select response_month, 'favourite_channel', favourite_channel, nps_category from described
),

counted as (
    select
        response_month,
        breakdown,
        breakdown_value,
        count(*) as responses,
        sum(case when nps_category = 'promoter' then 1 else 0 end) as promoters,
        sum(case when nps_category = 'passive' then 1 else 0 end) as passives,
        sum(case when nps_category = 'detractor' then 1 else 0 end) as detractors
    from stacked
    group by response_month, breakdown, breakdown_value
),

scored as (
    select
        counted.*,
        {{ safe_ratio('promoters', 'responses') }} as promoter_share,
        {{ safe_ratio('passives', 'responses') }} as passive_share,
        {{ safe_ratio('detractors', 'responses') }} as detractor_share
    from counted
),

final as (
    select
        {{ dbt.concat([dbt.safe_cast('response_month', dbt.type_string()), "'|'", 'breakdown', "'|'", 'breakdown_value']) }}
            as nps_summary_id,
        response_month,
        breakdown,
        breakdown_value,
        cast(responses as {{ dbt.type_bigint() }}) as responses,
        cast(promoters as {{ dbt.type_bigint() }}) as promoters,
        cast(passives as {{ dbt.type_bigint() }}) as passives,
        cast(detractors as {{ dbt.type_bigint() }}) as detractors,
        promoter_share,
        passive_share,
        detractor_share,
        100.0 * (promoter_share - detractor_share) as nps,
        -- NPS is a difference of two shares of one multinomial sample
        100.0 * sqrt(
            (promoter_share + detractor_share - (promoter_share - detractor_share) * (promoter_share - detractor_share))
            / responses
        ) as nps_standard_error
    from scored
)

select * from final
