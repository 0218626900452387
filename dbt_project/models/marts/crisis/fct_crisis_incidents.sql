{#-
  One row per crisis incident: a run of hours in which one signal fired for one account (or for the
  whole community, platform/account 'all'), with quiet gaps shorter than `end_after_quiet_hours`.
  It ends (ended_at) once that many hours have passed without the signal; until then it is open.
  An incident starting within `cooldown_hours` of the previous one's end on the same account and
  signal continues that one's thread (thread_incident_id) instead of opening a new conversation.
  So at most one incident is open per account and signal, by construction of the islands.
-#}
{%- set c = var('crisis', {}) -%}
{%- set quiet = c.get('end_after_quiet_hours', 3) | int -%}
{%- set cooldown = c.get('cooldown_hours', 6) | int -%}

with hours as (
    select * from {{ ref('fct_crisis_signals') }}
    where signals_fired > 0
),

fired as (
    select platform, account_id, 'volume_spike' as signal, hour_at, severity,
        inbound_count::double as observed, volume_baseline::double as baseline, volume_ratio as ratio,
        volume_score as score, post_key
    from hours where volume_fired
    union all
    select platform, account_id, 'negative_share', hour_at, severity,
        negative_share, negative_share_baseline, negative_share_ratio, negative_share_ratio, post_key
    from hours where negative_share_fired
    union all
    select platform, account_id, 'crisis_keywords', hour_at, severity,
        keyword_count_window, keyword_baseline, keyword_ratio, keyword_ratio, post_key
    from hours where keywords_fired
    union all
    select platform, account_id, 'post_turning_negative', hour_at, severity,
        post_negative_count, post_negative_baseline, post_negative_ratio, post_negative_ratio, post_key
    from hours where post_fired
),

gaps as (
    select
        *,
        case
            when lag(hour_at) over w is null then 1
            when date_diff('hour', lag(hour_at) over w, hour_at) - 1 >= {{ quiet }} then 1
            else 0
        end as is_start
    from fired
    window w as (partition by platform, account_id, signal order by hour_at)
),

numbered as (
    select
        *,
        sum(is_start) over (partition by platform, account_id, signal order by hour_at) as incident_no,
        case severity when 'critical' then 3 when 'warning' then 2 when 'watch' then 1 else 0 end as severity_rank
    from gaps
),

incidents as (
    select
        platform,
        account_id,
        signal,
        incident_no,
        min(hour_at) as started_at,
        max(hour_at) + interval 1 hour as last_fired_at,
        count(*) as hours_fired,
        max(severity_rank) as peak_rank,
        arg_max(observed, score) as peak_observed,
        arg_max(baseline, score) as peak_baseline,
        arg_max(ratio, score) as peak_ratio,
        max(score) as peak_score,
        arg_max(hour_at, score) as peak_at
    from numbered
    group by platform, account_id, signal, incident_no
),

ids as (
    select
        *,
        platform || ':' || account_id || ':' || signal || ':' || strftime(started_at, '%Y-%m-%dT%H') as incident_id,
        last_fired_at + interval {{ quiet }} hour <= {{ as_of() }} as is_closed
    from incidents
),

threaded as (
    select
        *,
        lag(incident_id) over w as previous_incident_id,
        lag(last_fired_at) over w as previous_last_fired_at
    from ids
    window w as (partition by platform, account_id, signal order by started_at)
),

-- What happened during each incident, from the hourly aggregates (not from every message of history,
-- so rebuilding this table costs what the incidents' hours cost): messages, posts, keywords. Incident
-- bounds are whole UTC hours, so hour_at in [started_at, last_fired_at) is the same as the messages'
-- created_at in it. 'all' incidents read the community-wide rows of the hourly models.
counts as (
    select t.incident_id, sum(h.inbound_count) as inbound_count, sum(h.negative_count) as negative_count
    from threaded as t
    join {{ ref('int_crisis_hourly') }} as h
        on h.platform = t.platform and h.account_id = t.account_id
        and h.hour_at >= t.started_at and h.hour_at < t.last_fired_at
    group by t.incident_id
),

-- an incident's hours with messages, so the per-post counts join on the hour (a range join with an
-- OR for the 'all' incidents cost seconds at 10M comments)
incident_hours as (
    select t.incident_id, t.platform, t.account_id, h.hour_at
    from threaded as t
    join {{ ref('int_crisis_hourly') }} as h
        on h.platform = t.platform and h.account_id = t.account_id
        and h.hour_at >= t.started_at and h.hour_at < t.last_fired_at
),

post_negatives as (
    select ih.incident_id, p.platform, p.post_id, p.negative_count
    from incident_hours as ih
    join {{ ref('int_crisis_post_hourly') }} as p
        on p.hour_at = ih.hour_at and p.platform = ih.platform and p.account_id = ih.account_id
    where ih.platform <> 'all'
    union all
    select ih.incident_id, p.platform, p.post_id, p.negative_count
    from incident_hours as ih
    join {{ ref('int_crisis_post_hourly') }} as p
        on p.hour_at = ih.hour_at
    where ih.platform = 'all'
),

posts as (
    select incident_id, string_agg(post_key, ',' order by negatives desc, post_key) as post_keys
    from (
        select incident_id, post_key, negatives,
            row_number() over (partition by incident_id order by negatives desc, post_key) as rn
        from (
            select incident_id, platform || ':' || post_id as post_key, sum(negative_count) as negatives
            from post_negatives
            group by incident_id, platform, post_id
        )
        where negatives > 0
    )
    where rn <= 3
    group by incident_id
),

keywords as (
    select incident_id, string_agg(keyword, ',' order by hits desc, keyword) as top_keywords
    from (
        select incident_id, keyword, hits,
            row_number() over (partition by incident_id order by hits desc, keyword) as rn
        from (
            select t.incident_id, k.keyword, sum(k.hits) as hits
            from threaded as t
            join {{ ref('int_crisis_keyword_hourly') }} as k
                on k.platform = t.platform and k.account_id = t.account_id
                and k.hour_at >= t.started_at and k.hour_at < t.last_fired_at
            group by t.incident_id, k.keyword
        )
    )
    where rn <= 5
    group by incident_id
)

select
    t.incident_id,
    case
        when t.previous_last_fired_at is not null
            and t.started_at < t.previous_last_fired_at + interval {{ quiet + cooldown }} hour
            then t.previous_incident_id
        else t.incident_id
    end as thread_incident_id,
    t.platform,
    t.account_id,
    t.signal,
    t.started_at,
    t.last_fired_at,
    case when t.is_closed then t.last_fired_at + interval {{ quiet }} hour end as ended_at,
    not t.is_closed as is_open,
    t.hours_fired,
    case t.peak_rank when 3 then 'critical' when 2 then 'warning' else 'watch' end as peak_severity,
    t.peak_at,
    t.peak_observed,
    t.peak_baseline,
    round(t.peak_ratio, 3) as peak_ratio,
    round(t.peak_score, 3) as peak_score,
    coalesce(n.inbound_count, 0) as inbound_count,
    coalesce(n.negative_count, 0) as negative_count,
    p.post_keys,
    k.top_keywords
from threaded as t
left join posts as p on p.incident_id = t.incident_id
left join keywords as k on k.incident_id = t.incident_id
left join counts as n on n.incident_id = t.incident_id
