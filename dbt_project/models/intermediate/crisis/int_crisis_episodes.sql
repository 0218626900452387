{#-
  One row per crisis (an episode) and account, plus the community-wide ones (platform/account
  'all'): the signal incidents of one account (int_crisis_signal_incidents) merged while they
  overlap or follow each other closely. The rule, its one home: an incident joins the account's
  current crisis when it starts before that crisis's last firing hour ends plus
  `end_after_quiet_hours` + `cooldown_hours`; otherwise it starts a new crisis. A crisis ends
  (ended_at) `end_after_quiet_hours` after its last firing hour, so two crises of one account never
  overlap. A signal that starts again within the cooldown after the end re-opens the crisis it
  followed (same row, same alert thread): the tail of a crisis is not a new one.
  The marts fct_crisis_incidents (accounts) and fct_crisis_incidents_community ('all') split it.
-#}
{%- set c = var('crisis') -%}
{%- set quiet = c.end_after_quiet_hours | int -%}
{%- set cooldown = c.cooldown_hours | int %}

with signal_incidents as (
    select * from {{ ref('int_crisis_signal_incidents') }}
),

ordered as (
    select
        *,
        -- the latest end of any earlier incident of the account: earlier crises ended before the
        -- current one started, so this is the current crisis's end
        max(last_fired_at) over (
            partition by platform, account_id order by started_at, signal
            rows between unbounded preceding and 1 preceding
        ) as previous_last_fired_at
    from signal_incidents
),

numbered as (
    select
        *,
        sum(
            case
                when previous_last_fired_at is null then 1
                when started_at >= previous_last_fired_at + interval '{{ quiet + cooldown }} hour' then 1
                else 0
            end
        ) over (partition by platform, account_id order by started_at, signal rows unbounded preceding) as episode_no
    from ordered
),

episodes as (
    select
        platform,
        account_id,
        episode_no,
        min(started_at) as started_at,
        max(last_fired_at) as last_fired_at,
        count(*) as signal_incidents,
        -- the signals in the order they first fired (ties by name)
        string_agg(signal, ',' order by first_at, signal) filter (where is_first) as signals,
        min(started_at) filter (where signal = 'volume_spike') as volume_spike_first_at,
        min(started_at) filter (where signal = 'negative_share') as negative_share_first_at,
        min(started_at) filter (where signal = 'crisis_keywords') as crisis_keywords_first_at,
        min(started_at) filter (where signal = 'post_turning_negative') as post_turning_negative_first_at
    from (
        select
            *,
            min(started_at) over (partition by platform, account_id, episode_no, signal) as first_at,
            row_number() over (partition by platform, account_id, episode_no, signal order by started_at) = 1 as is_first
        from numbered
    ) as firsts
    group by platform, account_id, episode_no
),

ids as (
    select
        platform || ':' || account_id || ':' || {{ hour_key('started_at') }} as incident_id,
        *,
        last_fired_at + interval '{{ quiet }} hour' <= {{ as_of() }} as is_closed
    from episodes
),

-- severity per hour of the crisis, from the signals mart
severities as (
    select
        e.incident_id,
        s.hour_at,
        s.severity,
        case s.severity when 'critical' then 3 when 'warning' then 2 when 'watch' then 1 else 0 end as severity_rank
    from ids as e
    inner join {{ ref('fct_crisis_signals') }} as s
        on s.platform = e.platform and s.account_id = e.account_id
        and s.hour_at >= e.started_at and s.hour_at < e.last_fired_at
    where s.signals_fired > 0
),

peaks as (
    select
        incident_id,
        max(severity_rank) as peak_rank,
        {{ first_ordered('hour_at', 'severity_rank desc, hour_at') }} as peak_at,
        min(hour_at) filter (where severity_rank >= 2) as first_alert_at,
        {{ first_ordered('severity', 'hour_at', filter='severity_rank >= 2') }} as first_alert_severity
    from severities
    group by incident_id
),

-- What happened during each crisis, from the hourly aggregates (not from every message of history,
-- so rebuilding this table costs what the crises' hours cost): messages, posts, keywords. Bounds
-- are whole UTC hours, so hour_at in [started_at, last_fired_at) is the same as the messages'
-- created_at in it. 'all' crises read the community-wide rows of the hourly models.
incident_hours as (
    select e.incident_id, e.platform, e.account_id, h.hour_at, h.inbound_count, h.negative_count
    from ids as e
    inner join {{ ref('int_crisis_hourly') }} as h
        on h.platform = e.platform and h.account_id = e.account_id
        and h.hour_at >= e.started_at and h.hour_at < e.last_fired_at
),

counts as (
    select incident_id, sum(inbound_count) as inbound_count, sum(negative_count) as negative_count
    from incident_hours
    group by incident_id
),

-- per-post counts join on the hour (a range join with an OR for the 'all' crises cost seconds at
-- 10M comments)
post_negatives as (
    select ih.incident_id, p.platform, p.post_id, p.negative_count
    from incident_hours as ih
    inner join {{ ref('int_crisis_post_hourly') }} as p
        on p.hour_at = ih.hour_at and p.platform = ih.platform and p.account_id = ih.account_id
    where ih.platform <> 'all'
    union all
    select ih.incident_id, p.platform, p.post_id, p.negative_count
    from incident_hours as ih
    inner join {{ ref('int_crisis_post_hourly') }} as p
        on p.hour_at = ih.hour_at
    where ih.platform = 'all'
),

posts as (
    select incident_id, string_agg(post_key, ',' order by negatives desc, post_key asc) as post_keys
    from (
        select incident_id, post_key, negatives,
            row_number() over (partition by incident_id order by negatives desc, post_key asc) as rn
        from (
            select incident_id, platform || ':' || post_id as post_key, sum(negative_count) as negatives
            from post_negatives
            group by incident_id, platform, post_id
        ) as per_post
        where negatives > 0
    ) as ranked
    where rn <= 3
    group by incident_id
),

keywords as (
    select incident_id, string_agg(keyword, ',' order by hits desc, keyword asc) as top_keywords
    from (
        select incident_id, keyword, hits,
            row_number() over (partition by incident_id order by hits desc, keyword asc) as rn
        from (
            select e.incident_id, k.keyword, sum(k.hits) as hits
            from ids as e
            inner join {{ ref('int_crisis_keyword_hourly') }} as k
                on k.platform = e.platform and k.account_id = e.account_id
                and k.hour_at >= e.started_at and k.hour_at < e.last_fired_at
            group by e.incident_id, k.keyword
        ) as per_keyword
    ) as ranked
    where rn <= 5
    group by incident_id
)

select
    e.incident_id,
    e.platform,
    e.account_id,
    e.started_at,
    e.last_fired_at,
    case when e.is_closed then e.last_fired_at + interval '{{ quiet }} hour' end as ended_at,
    not e.is_closed as is_open,
    case pk.peak_rank when 3 then 'critical' when 2 then 'warning' else 'watch' end as peak_severity,
    pk.peak_at,
    pk.first_alert_at,
    pk.first_alert_severity,
    e.signals,
    e.volume_spike_first_at,
    e.negative_share_first_at,
    e.crisis_keywords_first_at,
    e.post_turning_negative_first_at,
    e.signal_incidents,
    coalesce(n.inbound_count, 0) as inbound_count,
    coalesce(n.negative_count, 0) as negative_count,
    p.post_keys,
    k.top_keywords
from ids as e
left join peaks as pk on pk.incident_id = e.incident_id
left join counts as n on n.incident_id = e.incident_id
left join posts as p on p.incident_id = e.incident_id
left join keywords as k on k.incident_id = e.incident_id
