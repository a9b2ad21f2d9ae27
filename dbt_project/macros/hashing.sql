{#
    Lower-case hex SHA-256 of a string column, for matching the hashed e-mails
    that social platforms send (sha256 of the lower-cased e-mail). Engines name
    the function differently and Postgres hashes bytes, not text.
#}
{% macro sha256_hex(column) -%}
    {{ return(adapter.dispatch('sha256_hex', 'customer_warehouse')(column)) }}
{%- endmacro %}

{% macro default__sha256_hex(column) -%}
    lower(sha2({{ column }}, 256))
{%- endmacro %}

{% macro duckdb__sha256_hex(column) -%}
    lower(sha256({{ column }}))
{%- endmacro %}

{% macro postgres__sha256_hex(column) -%}
    encode(sha256(convert_to({{ column }}, 'UTF8')), 'hex')
{%- endmacro %}
