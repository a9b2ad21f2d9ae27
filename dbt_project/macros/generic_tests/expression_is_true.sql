{#
    Row-level invariant: fails with every row where the expression is not true
    (null counts as a failure: an invariant that cannot be evaluated is not held).
    Optional `where` narrows the rows it applies to, e.g. only completed orders.
#}
{% test expression_is_true(model, expression, column_name=none) %}
    select *
    from {{ model }}
    where not coalesce(({{ expression }}), false)
{% endtest %}
