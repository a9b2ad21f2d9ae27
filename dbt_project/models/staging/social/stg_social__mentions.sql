-- Personal data: built after erasures are applied, like every model keyed by the pseudonym map.
-- depends_on: {{ source('pseudonyms', 'customer_pseudonyms') }}

with

source as (
    select * from {{ source('social', 'social_mentions') }}
),

latest as (
    {{ dedupe_latest('source', ['post_id']) }}
),

final as (
    select
        {{ clean_string('post_id') }} as post_id,
        {{ clean_code('platform') }} as platform,
        {{ clean_string('handle') }} as handle,
        cast(posted_at as {{ dbt.type_timestamp() }}) as posted_at,
        {{ redact_contact_details(clean_string('text')) }} as post_text,
        -- hex digests are compared with hashes we compute in lower case
        lower({{ clean_string('email_sha256') }}) as email_sha256,
        _batch_id,
        _loaded_at
    from latest
)

select * from final
