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
  the messages of their own and their previous hour. Portable SQL (no DuckDB-only syntax): quoted
  intervals, a RANGE frame over the timestamp.
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

series as (
    select platform, account_id, created_at, hour_at, changed_at from messages
    union all
    select 'all' as platform, 'all' as account_id, created_at, hour_at, changed_at from messages
),

windowed as (
    select
        platform,
        account_id,
        hour_at,
        changed_at,
        count(*) over (
            partition by platform, account_id
            order by created_at
            range between interval '60 minutes' preceding and current row
        ) as window_count
    from series
)

select
    platform || ':' || account_id || ':' || cast(hour_at as {{ dbt.type_string() }}) as volume_hour_key,
    platform,
    account_id,
    hour_at,
    max(window_count) as window_count_peak,
    -- the newest change of the hour's own messages: every changed message's hour is written again, so
    -- the table's max() is the watermark of the next build
    max(changed_at) as changed_at
from windowed
{% if is_incremental() %}
where hour_at in (select hour_at from out_hours)
{% endif %}
group by platform, account_id, hour_at
