with

source as (
    select * from {{ source('catalog', 'products') }}
),

latest as (
    {{ dedupe_latest('source', ['product_id'], ['updated_at desc']) }}
),

-- Whether the catalogue ever sent the product under more than one category, and when it first sent it.
-- int_customer_preferences re-ranks the buyers of a product new to it or whose category has moved when a
-- version arrives: most re-deliveries change a price, which moves no favourite category.
category_history as (
    select
        product_id,
        count(distinct {{ clean_string('category') }}) > 1 as has_changed_category,
        min(_loaded_at) as first_loaded_at
    from source
    group by product_id
),

with_history as (
    select
        latest.*,
        category_history.has_changed_category,
        category_history.first_loaded_at
    from latest
    inner join category_history
        on latest.product_id = category_history.product_id
),

final as (
    select
        {{ clean_string('product_id') }} as product_id,
        {{ clean_string('name') }} as product_name,
        {{ clean_string('category') }} as category,
        {{ clean_string('brand') }} as brand,
        cast(price as {{ type_money() }}) as list_price,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        has_changed_category,
        first_loaded_at,
        _batch_id,
        _loaded_at
    from with_history
)

select * from final
