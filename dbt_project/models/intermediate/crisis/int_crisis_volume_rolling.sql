{{ config(materialized='incremental', unique_key='volume_hour_key', incremental_strategy='delete+insert') }}
{#-
  The volume spike's rolling window: per account and UTC hour (and per hour for the whole community,
  platform and account 'all'), the most inbound messages in any 60 minutes ending at a message written
  in that hour. fct_crisis_signals compares it with the hour's usual count (the same baseline as
  before: the median of that local hour of the week).

  Why: judged on clock hours, a burst that starts at 14:50 is split between two buckets and a watch
  sees at 15:10 only the ten minutes since 15:00. The trailing 60 minutes ending at a run's instant
  hold the whole burst so far. Evaluated at every message rather than at each run's instant: the count
  only rises when a message arrives, so the window ending at the newest message holds every message
  of the window ending at any later instant; the highest count a watch of any cadence could see at a
  run is here, and a full and an incremental build give the same rows whatever the runs' times.

  The window is 60 minutes because the baseline counts one clock hour: a shorter window would need a
  baseline scaled to it. Both ends are inclusive (a message exactly 60 minutes before counts).

  Incremental like int_crisis_hourly: a changed message moves the windows ending in its hour and in
  the next one (60 minutes reach back at most into the previous hour); those hours are recomputed from
  the messages of their own and their previous hour.

  Cost (issue 19): the windows are evaluated per instant, not per message. Messages written in the same
  second share a window (a RANGE frame's current row takes in its peers), so each account's series, and
  the community's (summed over accounts), holds one row per instant with its message count: at 10M
  comments, 3.2M community instants for 7.7M messages. The count in the 60 minutes up to each instant
  is computed by `trailing_window_count` (macros/portable.sql): on DuckDB a running total less the
  running total at the last instant more than 60 minutes before, found by an ASOF join (one sort per
  series, no frame per row: 15 CPU seconds where the RANGE frame over every message took 47 at 10M);
  on PostgreSQL the RANGE frame over the instants.
-#}

with changed as (
    select distinct hour_at
    from {{ ref('int_crisis_comments') }}
    {% if is_incremental() %}
    -- coalesce: after a build that saw no message, max() is null and nothing would compare greater
    where changed_at > (select coalesce(max(changed_at), cast('1900-01-01' as timestamp)) from {{ this }})
        - interval '1 hour'
    {% endif %}
),

-- the hours whose windows a changed message is in
out_hours as (
    select hour_at from changed
    union
    select hour_at + interval '1 hour' from changed
),

messages as (
    select c.platform, c.account_id, c.created_at, c.hour_at, c.changed_at
    from {{ ref('int_crisis_comments') }} as c
    {% if is_incremental() %}
    -- the windows of an hour reach back into the previous one
    where c.hour_at in (select hour_at from out_hours)
        or c.hour_at in (select hour_at - interval '1 hour' from out_hours)
    {% endif %}
),

-- one row per account and instant, with how many messages were written then
per_instant as (
    select platform, account_id, created_at, hour_at, count(*) as messages, max(changed_at) as changed_at
    from messages
    group by platform, account_id, created_at, hour_at
),

series as (
    select platform, account_id, created_at, hour_at, messages, changed_at from per_instant
    union all
    select
        'all' as platform,
        'all' as account_id,
        created_at,
        hour_at,
        sum(messages) as messages,
        max(changed_at) as changed_at
    from per_instant
    group by created_at, hour_at
),

windowed as (
    {{ trailing_window_count('series', 60) }}
)

select
    platform || ':' || account_id || ':' || cast(hour_at as {{ dbt.type_string() }}) as volume_hour_key,
    platform,
    account_id,
    hour_at,
    cast(max(window_count) as bigint) as window_count_peak,
    -- the newest change of the hour's own messages: every changed message's hour is written again, so
    -- the table's max() is the watermark of the next build
    max(changed_at) as changed_at
from windowed
{% if is_incremental() %}
where hour_at in (select hour_at from out_hours)
{% endif %}
group by platform, account_id, hour_at
