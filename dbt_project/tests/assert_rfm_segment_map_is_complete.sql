-- Every (r_score, f_score) pair must map to a segment, otherwise a customer
-- silently falls out of every segment-based audience.
with

scores as (
    select 1 as score union all select 2 union all select 3 union all select 4 union all select 5
),

expected as (
    select r.score as r_score, f.score as f_score
    from scores as r
    cross join scores as f
),

segment_map as (
    select * from {{ ref('rfm_segment_map') }}
),

final as (
    select expected.r_score, expected.f_score
    from expected
    left join segment_map
        on expected.r_score = segment_map.r_score
        and expected.f_score = segment_map.f_score
    where segment_map.segment is null
)

select * from final
