-- The SQL approximations of macros/statistics.sql on a grid, for
-- tests/test_marts_experiments.py to compare with scipy (dbt compile, then run).
with

numbers as (
    {{ integers(4) }}
),

grid as (
    select
        (n - 4000) / 500.0 as x,
        n / 100.0 as chi2,
        1 + (n % 4) as df
    from numbers
    where n <= 8000
),

final as (
    select
        x,
        {{ normal_cdf('x') }} as phi,
        {{ two_sided_p_value('x') }} as p_two_sided,
        chi2,
        df,
        {{ chi_square_p_value('chi2', 'df') }} as chi_square_p
    from grid
)

select * from final
