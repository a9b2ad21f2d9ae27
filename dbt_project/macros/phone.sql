{#
    Regex flags differ per engine: DuckDB and Postgres replace only the first
    match unless told 'g', Spark and Snowflake replace all matches by default.
#}
{% macro digits_only(column) -%}
    {{ return(adapter.dispatch('digits_only', 'customer_warehouse')(column)) }}
{%- endmacro %}

{% macro default__digits_only(column) -%}
    regexp_replace({{ column }}, '[^0-9]', '')
{%- endmacro %}

{% macro duckdb__digits_only(column) -%}
    regexp_replace({{ column }}, '[^0-9]', '', 'g')
{%- endmacro %}


{#
    Phone number to E.164 ('+' country code, subscriber number, digits only).

    A number already written internationally ('+..' or '00..') keeps its own
    country code; a national number gets the calling code of the customer's
    country, after dropping the national trunk prefix '0' (UK 020.., DE 030..,
    CN 010..) or the NANP trunk '1' of an 11-digit North-American number.
    Countries that keep the leading 0 internationally (Italy) are not handled.
    The result is null when the country is unknown for a national number or
    when it cannot be a valid E.164 number (8-15 digits), because a wrong
    number in an export is worse than none.
    Takes the trimmed phone, its digits_only() and the calling code as columns
    so the compiled expression stays readable.
#}
{% macro phone_to_e164(raw, digits, calling_code_column) -%}
    {%- set candidate -%}
        case
            when {{ raw }} is null then null
            when {{ raw }} like '+%' then {{ dbt.concat(["'+'", digits]) }}
            when {{ digits }} like '00%' then {{ dbt.concat(["'+'", "substr(" ~ digits ~ ", 3)"]) }}
            when {{ calling_code_column }} is null then null
            when {{ calling_code_column }} = '1' and {{ dbt.length(digits) }} = 11 and {{ digits }} like '1%'
                then {{ dbt.concat(["'+'", digits]) }}
            when {{ digits }} like '0%'
                then {{ dbt.concat(["'+'", calling_code_column, "substr(" ~ digits ~ ", 2)"]) }}
            else {{ dbt.concat(["'+'", calling_code_column, digits]) }}
        end
    {%- endset -%}
    case
        when {{ dbt.length(candidate) }} between 9 and 16 then {{ candidate }}
    end
{%- endmacro %}
