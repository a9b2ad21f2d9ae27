{# Amounts, counts and durations: nulls are not_null's business, negatives are ours. #}
{% test non_negative(model, column_name) %}
    select *
    from {{ model }}
    where {{ column_name }} < 0
{% endtest %}
