-- Stored, not a view: the order models and the tests read the latest version of every order; as a
-- view each of them re-ran the de-duplication window over all of raw.orders.
-- Incremental (macros/incremental.sql): a run re-stages only the orders with a raw version loaded
-- since the last build or delivered in the partition window, from every raw version of those
-- orders, so a status update re-delivered later replaces the older version.
{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy=incremental_strategy_for_target(),
        on_schema_change='append_new_columns',
        tags=['delivery_partitioned']
    )
}}

with

source as (
    {{ raw_versions_of_changed_keys(source('shop', 'orders'), 'order_id') }}
),

-- Restricted map to the pseudonymous key: nothing after staging sees the CRM id.
pseudonyms as (
    select * from {{ source('pseudonyms', 'customer_pseudonyms') }}
),

-- A returned order is re-delivered with a later updated_at, so the latest
-- version carries the current status.
latest as (
    {{ dedupe_latest('source', ['order_id'], ['updated_at desc']) }}
),

final as (
    select
        {{ clean_string('order_id') }} as order_id,
        pseudonyms.customer_key,
        cast(ordered_at as {{ dbt.type_timestamp() }}) as ordered_at,
        cast(ordered_at as date) as order_date,
        {{ clean_code('channel') }} as channel,
        {{ clean_code('status') }} as status,
        cast(subtotal_amount as {{ type_money() }}) as subtotal_amount,
        cast(discount_amount as {{ type_money() }}) as discount_amount,
        cast(shipping_amount as {{ type_money() }}) as shipping_amount,
        cast(total_amount as {{ type_money() }}) as total_amount,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        _batch_id,
        _loaded_at
    from latest
    left join pseudonyms
        on {{ clean_string('latest.customer_id') }} = pseudonyms.customer_id
)

-- when this run wrote the row: a partitioned run's dbt tests read these (macros/tests_on_changed_rows.sql)
select *, {{ built_at() }} as _built_at from final
