{# Fails on rows where the column is negative (durations are clamped at zero, never below). #}
{% test sla_not_negative(model, column_name) %}
select *
from {{ model }}
where {{ column_name }} < 0
{% endtest %}
