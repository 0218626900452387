{#-
  One row per signal incident: a run of hours in which one signal fired for one account (or for the
  whole community, platform/account 'all'), with quiet gaps shorter than `end_after_quiet_hours`.
  marts.fct_crisis_incidents merges the signal incidents of one account into crises.

  The negative share is judged over 24 hours, so after a flash spike it keeps firing for a day on the
  spike's own messages. An hour of it does not count here when the spike explains it: a faster signal
  (volume, keywords, a post turning negative) fired within the share's window (`window_hours`), and
  the share of the recent hours (the post window, `post_turning_negative.window_hours`) is no longer
  beyond min_share and min_ratio against the same baseline. A crisis then ends a few hours after the
  messages are back to normal, not a day later (docs/crisis.md, "When a crisis ends"). A slow burn
  with no faster signal keeps its share firing, hour after hour, quiet nights included.
-#}
{%- set c = var('crisis') -%}
{%- set quiet = c.end_after_quiet_hours | int -%}
{%- set ns = c.negative_share -%}
{%- set ns_min_share = ns.min_share -%}
{%- set ns_min_ratio = ns.min_ratio -%}
{%- set ns_window = ns.window_hours | int -%}
{%- set pt_window = c.post_turning_negative.window_hours | int -%}
{#- the floor of the baseline share, as in fct_crisis_signals -#}
{%- set share_floor = ns.baseline_floor %}

with hours as (
    select * from {{ ref('fct_crisis_signals') }}
    where signals_fired > 0
),

-- for each hour the 24-hour share fired (few hours: a range join on them is cheap): whether a faster
-- signal fired within its window, and the share of the recent hours
share_context as (
    select
        h.signal_key,
        bool_or(r.volume_fired or r.keywords_fired or r.post_fired) as fast_in_window,
        cast(sum(r.negative_count) filter (where r.hour_at > h.hour_at - interval '{{ pt_window }} hour') as double precision)
            / nullif(sum(r.inbound_count) filter (where r.hour_at > h.hour_at - interval '{{ pt_window }} hour'), 0)
            as recent_share
    from hours as h
    inner join {{ ref('fct_crisis_signals') }} as r
        on r.platform = h.platform and r.account_id = h.account_id
        and r.hour_at > h.hour_at - interval '{{ ns_window }} hour' and r.hour_at <= h.hour_at
    where h.negative_share_fired
    group by h.signal_key
),

fired as (
    select platform, account_id, 'volume_spike' as signal, hour_at, severity,
        cast(volume_window_count as double precision) as observed, cast(volume_baseline as double precision) as baseline, volume_ratio as ratio,
        volume_score as score
    from hours where volume_fired
    union all
    select h.platform, h.account_id, 'negative_share' as signal, h.hour_at, h.severity,
        h.negative_share as observed, h.negative_share_baseline as baseline, h.negative_share_ratio as ratio,
        h.negative_share_ratio as score
    from hours as h
    inner join share_context as r using (signal_key)
    where h.negative_share_fired
        and (
            not r.fast_in_window
            or coalesce(
                r.recent_share >= {{ ns_min_share }}
                and r.recent_share / greatest(coalesce(h.negative_share_baseline, 0), {{ share_floor }})
                    >= {{ ns_min_ratio }},
                false
            )
        )
    union all
    select platform, account_id, 'crisis_keywords' as signal, hour_at, severity,
        keyword_count_window as observed, keyword_baseline as baseline, keyword_ratio as ratio, keyword_ratio as score
    from hours where keywords_fired
    union all
    select platform, account_id, 'post_turning_negative' as signal, hour_at, severity,
        post_negative_count as observed, post_negative_baseline as baseline, post_negative_ratio as ratio,
        post_negative_ratio as score
    from hours where post_fired
),

gaps as (
    select
        *,
        case
            when lag(hour_at) over w is null then 1
            when {{ dbt.datediff('lag(hour_at) over w', 'hour_at', 'hour') }} - 1 >= {{ quiet }} then 1
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
        min(hour_at) as started_at,
        max(hour_at) + interval '1 hour' as last_fired_at,
        count(*) as hours_fired,
        max(severity_rank) as peak_rank,
        -- the peak is the hour of the highest score, the earliest on a tie (arg_max would pick any)
        {{ first_ordered('hour_at', 'score desc nulls last, hour_at') }} as peak_at,
        {{ first_ordered('observed', 'score desc nulls last, hour_at') }} as peak_observed,
        {{ first_ordered('baseline', 'score desc nulls last, hour_at') }} as peak_baseline,
        {{ first_ordered('ratio', 'score desc nulls last, hour_at') }} as peak_ratio,
        max(score) as peak_score
    from numbered
    group by platform, account_id, signal, incident_no
)

select
    platform || ':' || account_id || ':' || signal || ':' || {{ hour_key('started_at') }} as signal_incident_id,
    platform,
    account_id,
    signal,
    started_at,
    last_fired_at,
    hours_fired,
    case peak_rank when 3 then 'critical' when 2 then 'warning' else 'watch' end as peak_severity,
    peak_at,
    peak_observed,
    peak_baseline,
    {{ round_float('peak_ratio', 3) }} as peak_ratio,
    {{ round_float('peak_score', 3) }} as peak_score
from incidents
