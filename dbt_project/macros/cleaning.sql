{# Feeds send '' and '   ' for "unknown"; downstream logic only has to handle null. #}
{% macro clean_string(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}


{# Closed-set codes (status, channel, ...) are compared case-sensitively downstream. #}
{% macro clean_code(column) -%}
    lower({{ clean_string(column) }})
{%- endmacro %}


{# E-mails are matched across sources (privacy requests, hashed social e-mails), so one canonical form. #}
{% macro normalize_email(column) -%}
    lower({{ clean_string(column) }})
{%- endmacro %}


{# Country arrives as alpha-2 or English name in any case; this is the key into seed country_codes. #}
{% macro country_lookup_key(column) -%}
    upper({{ clean_string(column) }})
{%- endmacro %}


{# Money columns have one type everywhere so contracts and joins never hit numeric-precision drift. #}
{% macro type_money() -%}
    {{ return(adapter.dispatch('type_money', 'customer_warehouse')()) }}
{%- endmacro %}

{% macro default__type_money() -%}
    decimal(18,2)
{%- endmacro %}
