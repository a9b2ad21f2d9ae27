{#
    Standard normal CDF Phi(x) in plain SQL arithmetic, so the experiment test
    runs on any engine (few have erf). Uses Abramowitz & Stegun 7.1.26 for
    erf(|x|/sqrt 2); the absolute error of erf is below 1.5e-7, so Phi and the
    p-values built from it are within 1e-7 absolute (tests/test_marts_experiments.py
    checks 2e-7 against scipy over a grid). Relative accuracy of tiny tail
    probabilities (< 1e-6) is poor: report those as "< 1e-6", not as values.
#}
{% macro normal_cdf(x) -%}
    {%- set ax -%} (abs({{ x }}) / sqrt(2.0)) {%- endset -%}
    {%- set t -%} (1.0 / (1.0 + 0.3275911 * {{ ax }})) {%- endset -%}
    (0.5 * (1.0 + sign({{ x }}) * (1.0 - (
        ((((1.061405429 * {{ t }} - 1.453152027) * {{ t }} + 1.421413741) * {{ t }} - 0.284496736) * {{ t }} + 0.254829592)
        * {{ t }} * exp(-({{ ax }}) * ({{ ax }}))
    ))))
{%- endmacro %}


{# Two-sided p-value of a z statistic: 2 * (1 - Phi(|z|)). #}
{% macro two_sided_p_value(z) -%}
    (2.0 * (1.0 - {{ normal_cdf('abs(' ~ z ~ ')') }}))
{%- endmacro %}


{#
    Upper-tail p-value of a chi-square statistic with df degrees of freedom.
    Exact for df = 1 (chi2 = z^2, so p = 2 * (1 - Phi(sqrt(chi2)))) and df = 2
    (p = exp(-chi2 / 2)); larger df use the Wilson-Hilferty cube-root normal
    approximation, within 6e-3 absolute at df = 3 and better as df grows
    (checked against scipy in tests/test_marts_experiments.py): enough to flag a
    sample-ratio mismatch at alpha 0.001, not to report a p-value to 3 digits.
#}
{% macro chi_square_p_value(chi2, df) -%}
    case
        when {{ df }} = 1 then {{ two_sided_p_value('sqrt(' ~ chi2 ~ ')') }}
        when {{ df }} = 2 then exp(-({{ chi2 }}) / 2.0)
        when {{ df }} > 2 then 1.0 - {{ normal_cdf(
            '((power((' ~ chi2 ~ ') / (' ~ df ~ '), 1.0 / 3) - (1.0 - 2.0 / (9.0 * (' ~ df ~ ')))) / sqrt(2.0 / (9.0 * (' ~ df ~ '))))'
        ) }}
    end
{%- endmacro %}


{# Share of a count in a total; null instead of a division error when the total is 0. #}
{% macro safe_ratio(numerator, denominator) -%}
    (cast({{ numerator }} as {{ type_double() }}) / nullif({{ denominator }}, 0))
{%- endmacro %}


{# 64-bit float everywhere: type_double() is a 4-byte REAL on DuckDB, too coarse for rates and p-values. #}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'customer_warehouse')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
