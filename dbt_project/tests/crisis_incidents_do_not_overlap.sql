{#- Two crises of one account never overlap in time: [started_at, end) with end the ended_at, or for
    an open crisis last_fired_at + end_after_quiet_hours (when it would end without a new signal). -#}
{%- set quiet = var('crisis').end_after_quiet_hours | int %}
with spans as (
    select incident_id, platform, account_id, started_at,
        coalesce(ended_at, last_fired_at + interval '{{ quiet }} hour') as ends_at
    from {{ ref('fct_crisis_incidents') }}
    union all
    select incident_id, platform, account_id, started_at,
        coalesce(ended_at, last_fired_at + interval '{{ quiet }} hour')
    from {{ ref('fct_crisis_incidents_community') }}
)

select a.incident_id, b.incident_id as overlapping_incident_id
from spans as a
inner join spans as b
    on a.platform = b.platform and a.account_id = b.account_id and a.incident_id < b.incident_id
    and a.started_at < b.ends_at and b.started_at < a.ends_at
