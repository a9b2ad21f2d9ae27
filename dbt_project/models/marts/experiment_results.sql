{#- two-sided 95% normal quantile, to the precision of a double -#}
{%- set z_975 = 1.959963984540054 -%}

with

events as (
    select * from {{ ref('stg_marketing__campaign_events') }}
),

design as (
    select * from {{ ref('experiment_design') }}
),

-- Exposure is being sent the campaign (intention to treat): the marketer
-- cannot see who was still reachable, and conditioning on opens would let the
-- treatment change who counts as exposed.
recipients as (
    select
        campaign_id,
        variant,
        customer_key,
        max(case when event_type = 'convert' then 1 else 0 end) as converted
    from events
    group by campaign_id, variant, customer_key
),

arms as (
    select
        campaign_id,
        variant,
        count(*) as exposed,
        sum(converted) as converted
    from recipients
    group by campaign_id, variant
),

arms_designed as (
    select
        arms.*,
        design.designed_share,
        coalesce(design.is_control, arms.variant = 'control') as is_control
    from arms
    left join design
        on arms.campaign_id = design.campaign_id
        and arms.variant = design.variant
),

campaign_totals as (
    select
        campaign_id,
        sum(exposed) as campaign_exposed,
        count(*) as arm_count,
        count(designed_share) as designed_arm_count
    from arms_designed
    group by campaign_id
),

-- Sample-ratio mismatch: observed arm sizes against the designed split.
-- A small p-value means assignment or logging is broken, so the lift cannot be trusted.
srm as (
    select
        arms_designed.campaign_id,
        sum(
            (arms_designed.exposed - campaign_totals.campaign_exposed * arms_designed.designed_share)
            * (arms_designed.exposed - campaign_totals.campaign_exposed * arms_designed.designed_share)
            / (campaign_totals.campaign_exposed * arms_designed.designed_share)
        ) as srm_chi_square,
        max(campaign_totals.arm_count) - 1 as srm_degrees_of_freedom
    from arms_designed
    inner join campaign_totals
        on arms_designed.campaign_id = campaign_totals.campaign_id
    where campaign_totals.designed_arm_count = campaign_totals.arm_count
      and campaign_totals.arm_count > 1
    group by arms_designed.campaign_id
),

controls as (
    select
        campaign_id,
        exposed as control_exposed,
        converted as control_converted
    from arms_designed
    where is_control
),

compared as (
    select
        arms_designed.campaign_id,
        arms_designed.variant,
        arms_designed.is_control,
        arms_designed.designed_share,
        arms_designed.exposed,
        arms_designed.converted,
        campaign_totals.campaign_exposed,
        controls.control_exposed,
        controls.control_converted,
        {{ safe_ratio('arms_designed.converted', 'arms_designed.exposed') }} as p_arm,
        {{ safe_ratio('controls.control_converted', 'controls.control_exposed') }} as p_control,
        {{ safe_ratio('arms_designed.converted + controls.control_converted',
                      'arms_designed.exposed + controls.control_exposed') }} as p_pooled
    from arms_designed
    inner join campaign_totals
        on arms_designed.campaign_id = campaign_totals.campaign_id
    left join controls
        on arms_designed.campaign_id = controls.campaign_id
),

tested as (
    select
        compared.*,
        case when not is_control then p_arm - p_control end as absolute_lift,
        -- pooled standard error for the test (H0: equal rates) ...
        case when not is_control then sqrt(
            p_pooled * (1 - p_pooled) * (1.0 / exposed + 1.0 / control_exposed)
        ) end as se_pooled,
        -- ... unpooled (Wald) standard error for the interval around the lift
        case when not is_control then sqrt(
            p_arm * (1 - p_arm) / exposed + p_control * (1 - p_control) / control_exposed
        ) end as se_unpooled
    from compared
),

with_z as (
    select
        tested.*,
        absolute_lift / nullif(se_pooled, 0) as z_score
    from tested
),

final as (
    select
        {{ dbt.concat(['with_z.campaign_id', "'|'", 'with_z.variant']) }} as experiment_arm_id,
        with_z.campaign_id,
        with_z.variant,
        with_z.is_control,
        cast(with_z.exposed as {{ dbt.type_bigint() }}) as exposed,
        cast(with_z.converted as {{ dbt.type_bigint() }}) as converted,
        round(with_z.p_arm, 6) as conversion_rate,
        cast(with_z.control_exposed as {{ dbt.type_bigint() }}) as control_exposed,
        cast(with_z.control_converted as {{ dbt.type_bigint() }}) as control_converted,
        round(with_z.p_control, 6) as control_conversion_rate,
        round(with_z.absolute_lift, 6) as absolute_lift,
        round(with_z.absolute_lift / nullif(with_z.p_control, 0), 6) as relative_lift,
        round(with_z.z_score, 6) as z_score,
        round({{ two_sided_p_value('with_z.z_score') }}, 6) as p_value,
        round(with_z.absolute_lift - {{ z_975 }} * with_z.se_unpooled, 6) as lift_ci95_lower,
        round(with_z.absolute_lift + {{ z_975 }} * with_z.se_unpooled, 6) as lift_ci95_upper,
        round(with_z.designed_share, 6) as designed_share,
        round({{ safe_ratio('with_z.exposed', 'with_z.campaign_exposed') }}, 6) as observed_share,
        round(srm.srm_chi_square, 6) as srm_chi_square,
        round({{ chi_square_p_value('srm.srm_chi_square', 'srm.srm_degrees_of_freedom') }}, 6) as srm_p_value,
        {{ chi_square_p_value('srm.srm_chi_square', 'srm.srm_degrees_of_freedom') }} < {{ var('srm_alpha') }}
            as has_sample_ratio_mismatch
    from with_z
    left join srm
        on with_z.campaign_id = srm.campaign_id
)

select * from final
