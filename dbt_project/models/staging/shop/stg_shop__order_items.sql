-- Stored, not a view: five models and the tests read the latest copy of every line; as a view each of
-- them re-ran the de-duplication window over all of raw.order_items. Erasure deletes from it by order id.
-- Incremental (macros/incremental.sql): a run re-stages the orders with a line loaded since the last
-- build or delivered in the partition window. The newest load wins, so a re-delivered order's new lines
-- replace the older copies and a line it no longer carries keeps its last copy, as a full build would.
{{
    config(
        materialized='incremental',
        unique_key='order_item_id',
        incremental_strategy=incremental_strategy_for_target(),
        on_schema_change='append_new_columns',
        tags=['delivery_partitioned']
    )
}}

with

source as (
    {{ raw_versions_of_changed_keys(source('shop', 'order_items'), 'order_id', newest_load_wins=true) }}
),

-- Lines carry no version column: a re-delivered order repeats its lines, and
-- the most recently loaded copy wins.
latest as (
    {{ dedupe_latest('source', ['order_id', 'line_number']) }}
),

renamed as (
    select
        {{ clean_string('order_id') }} as order_id,
        cast(line_number as {{ dbt.type_int() }}) as line_number,
        {{ clean_string('product_id') }} as product_id,
        cast(quantity as {{ dbt.type_int() }}) as quantity,
        cast(unit_price as {{ type_money() }}) as unit_price,
        cast(ordered_at as {{ dbt.type_timestamp() }}) as ordered_at,
        _batch_id,
        _loaded_at
    from latest
),

final as (
    select
        {{ dbt.concat(['order_id', "'-'", dbt.safe_cast('line_number', dbt.type_string())]) }} as order_item_id,
        order_id,
        line_number,
        product_id,
        quantity,
        unit_price,
        cast(quantity * unit_price as {{ type_money() }}) as line_amount,
        ordered_at,
        _batch_id,
        _loaded_at
    from renamed
)

-- when this run wrote the row: a partitioned run's dbt tests read these (macros/tests_on_changed_rows.sql)
select *, {{ built_at() }} as _built_at from final
