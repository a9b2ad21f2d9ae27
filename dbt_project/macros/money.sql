{#
    A money amount divided by a count (average order value), as type_money().
    DuckDB divides a DECIMAL by an integer in DOUBLE and casts the double back,
    rounding half away from zero; Spark divides DECIMALs exactly. On an exact
    half cent (259.09 / 2) the two would round apart, so Spark is made to round
    the same double DuckDB does: scale by 100, round half away from zero, scale back.
#}
{% macro money_ratio(numerator, denominator) -%}
    {{ return(adapter.dispatch('money_ratio', 'customer_warehouse')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__money_ratio(numerator, denominator) -%}
    cast({{ numerator }} / nullif({{ denominator }}, 0) as {{ type_money() }})
{%- endmacro %}

{% macro spark__money_ratio(numerator, denominator) -%}
    cast(round(cast({{ numerator }} as double) / nullif({{ denominator }}, 0) * 100) / 100 as {{ type_money() }})
{%- endmacro %}
