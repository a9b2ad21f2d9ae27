with

source as (
    select * from {{ source('catalog', 'products') }}
),

latest as (
    {{ dedupe_latest('source', ['product_id'], ['updated_at desc']) }}
),

final as (
    select
        {{ clean_string('product_id') }} as product_id,
        {{ clean_string('name') }} as product_name,
        {{ clean_string('category') }} as category,
        {{ clean_string('brand') }} as brand,
        cast(price as {{ type_money() }}) as list_price,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        _batch_id,
        _loaded_at
    from latest
)

select * from final
