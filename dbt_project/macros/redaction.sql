{#
    Free text (tickets, survey comments, social posts, site searches) is written by
    customers, and customers type their e-mail address and phone number into it. Those
    are direct identifiers, so they are replaced by [email] / [phone] in staging, before
    any mart, model or report reads the text. A phone is a run of 9+ digits with the usual
    separators, optionally starting with +, not glued to letters (so "order O000123456"
    keeps its number); the leading character is kept through the capture group.
#}
{% macro redact_contact_details(column) -%}
    {{ return(adapter.dispatch('redact_contact_details', 'customer_warehouse')(column)) }}
{%- endmacro %}

{% macro default__redact_contact_details(column) -%}
    regexp_replace(
        regexp_replace({{ column }}, '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}', '[email]', 'g'),
        '(^|[^A-Za-z0-9+(])\+?\(?[0-9][0-9 ().-]{7,}[0-9]', '\1[phone]', 'g'
    )
{%- endmacro %}

{# Spark's regexp_replace replaces every match and names groups $1. #}
{% macro spark__redact_contact_details(column) -%}
    regexp_replace(
        regexp_replace({{ column }}, '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}', '[email]'),
        '(^|[^A-Za-z0-9+(])\\+?\\(?[0-9][0-9 ().-]{7,}[0-9]', '$1[phone]'
    )
{%- endmacro %}
