-- fct_sla_events looks business time up by UTC day and by hour of open time (see span_days and
-- span_open_hours there), which bounds the calendar: no gap between two openings longer than
-- var('sla_max_closed_days') days, and no span longer than 25 hours. A calendar outside those bounds
-- would give wrong deadlines silently, so it fails here: raise the variable, or split the spans.
{%- set max_gap_days = var('sla_max_closed_days') | int %}
select open_at, next_open_at, open_seconds
from {{ ref('int_sla_business_intervals') }}
where open_seconds > 25 * 3600
    or (next_open_at is not null and {{ dbt.datediff('open_at', 'next_open_at', 'day') }} > {{ max_gap_days }})
