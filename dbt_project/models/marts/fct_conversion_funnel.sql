with

sessions as (
    select * from {{ ref('fct_sessions') }}
),

rfm as (
    select * from {{ ref('customer_rfm') }}
),

segmented as (
    select
        sessions.*,
        case
            when sessions.customer_key is null then 'Unidentified'
            else coalesce(rfm.rfm_segment, 'No purchase yet')
        end as segment
    from sessions
    left join rfm
        on sessions.customer_key = rfm.customer_key
),

counted as (
    select
        session_date,
        platform as channel,
        segment,
        count(*) as sessions,
        sum(case when reached_product_view then 1 else 0 end) as product_view_sessions,
        sum(case when reached_add_to_cart then 1 else 0 end) as add_to_cart_sessions,
        sum(case when reached_checkout then 1 else 0 end) as checkout_sessions,
        sum(case when reached_purchase then 1 else 0 end) as purchase_sessions
    from segmented
    group by session_date, platform, segment
),

final as (
    select
        {{ dbt.concat([dbt.safe_cast('session_date', dbt.type_string()), "'|'", 'channel', "'|'", 'segment']) }} as funnel_id,
        session_date,
        channel,
        segment,
        cast(sessions as {{ dbt.type_bigint() }}) as sessions,
        cast(product_view_sessions as {{ dbt.type_bigint() }}) as product_view_sessions,
        cast(add_to_cart_sessions as {{ dbt.type_bigint() }}) as add_to_cart_sessions,
        cast(checkout_sessions as {{ dbt.type_bigint() }}) as checkout_sessions,
        cast(purchase_sessions as {{ dbt.type_bigint() }}) as purchase_sessions,
        {{ safe_ratio('add_to_cart_sessions', 'product_view_sessions') }} as view_to_cart_rate,
        {{ safe_ratio('checkout_sessions', 'add_to_cart_sessions') }} as cart_to_checkout_rate,
        {{ safe_ratio('purchase_sessions', 'checkout_sessions') }} as checkout_to_purchase_rate,
        {{ safe_ratio('purchase_sessions', 'sessions') }} as session_conversion_rate
    from counted
)

select * from final
