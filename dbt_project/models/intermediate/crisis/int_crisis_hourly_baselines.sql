{{ config(
    materialized='incremental',
    unique_key='signal_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns'
) }}
{#-
  The hourly grid of the crisis signals: one row per account, platform and UTC hour (plus
  platform/account 'all' for the whole community) with each signal's observed value over its window
  and its baseline. fct_crisis_signals applies the thresholds. Hours with no message are rows with
  zeros: a quiet hour is a fact. Every account that ever had a message has a row for every hour from
  the community's first message to as_of, so its baselines count the quiet weeks before its first
  message as zeros.

  Incremental, and equal to a --full-refresh: a run recomputes the hours from the earliest of
  (a) `lookback_hours` before as_of, (b) the hour after the last one built (runs further apart than
  the look-back), (c) the earliest hour whose messages changed since the last build (late or
  back-filled messages move the windows and baselines of every later hour); an account seen for the
  first time gets all its hours. It reads the hourly aggregates of a bounded history before that
  (the longest baseline, plus a week for daylight-saving shifts of the local hour of the week), never
  all of it in the steady state. tests/dbt/test_incremental_equals_full.py holds it to this.
-#}
{%- set c = var('crisis') -%}
{%- set vs = c.volume_spike -%}
{%- set ns = c.negative_share -%}
{%- set pt = c.post_turning_negative -%}
{%- set baseline_weeks = vs.baseline_weeks | int -%}
{%- set ns_window = ns.window_hours | int -%}
{%- set ns_days = ns.baseline_days | int -%}
{%- set pt_window = pt.window_hours | int -%}
{#- The volume baseline takes the previous rows of the same local hour of the week: where a
    daylight-saving switch skips that local hour once, the fourth one back is five weeks away. -#}
{%- set baseline_hours = [(baseline_weeks + 1) * 168, ns_days * 24 + ns_window, ns_days * 24 + pt_window] | max -%}
{%- set lookback = var('lookback_hours') | int -%}
{%- set margin = var('reload_margin_minutes') | int -%}

with all_hourly as (
    select * from {{ ref('int_crisis_hourly') }}
),

volume_rolling as (
    select * from {{ ref('int_crisis_volume_rolling') }}
),

post_windows as (
    select * from {{ ref('int_crisis_post_windows') }}
),

bounds as (
    select
        {{ dbt.date_trunc('hour', as_of()) }} as out_to,
        -- the community's first hour with a message: where every series starts, in every build
        (select min(hour_at) from all_hourly) as first_hour,
        {% if is_incremental() %}
        least(
            {{ dbt.date_trunc('hour', as_of()) }} - interval '{{ lookback }} hour',
            (select max(hour_at) from {{ this }}) + interval '1 hour',
            (
                select min(hour_at) from all_hourly
                where changed_at > (select max(hourly_changed_through) from {{ this }}) - interval '{{ margin }} minute'
            )
        ) as out_from
        {% else %}
        (select min(hour_at) from all_hourly) as out_from
        {% endif %}
),

-- every series with a message up to as_of (not only those with one in the read window: a quiet
-- account still gets its quiet hours), each with the first hour this run writes for it
series as (
    select
        h.platform,
        h.account_id,
        {% if is_incremental() %}
        case when t.platform is null then b.first_hour else greatest(b.out_from, b.first_hour) end as out_from
        {% else %}
        b.out_from
        {% endif %}
    from (
        select distinct ah.platform, ah.account_id from all_hourly as ah, bounds where ah.hour_at <= bounds.out_to
    ) as h
    cross join bounds as b
    {% if is_incremental() %}
    left join (select distinct platform, account_id from {{ this }}) as t
        on t.platform = h.platform and t.account_id = h.account_id
    {% endif %}
),

read_bounds as (
    select
        b.out_to,
        -- never before the first message: the spine of a full build starts there too, so the
        -- baselines of early hours see the same (few) weeks in both
        greatest(min(s.out_from) - interval '{{ baseline_hours }} hour', b.first_hour) as read_from
    from series as s, bounds as b
    group by b.out_to, b.first_hour
),

hourly as (
    select h.*
    from all_hourly as h, read_bounds as b
    where h.hour_at between b.read_from and b.out_to
),

-- the post windows of the hours read: the filter reaches the view's scan of int_crisis_post_hourly
posts_read as (
    select p.*
    from post_windows as p, read_bounds as b
    where p.hour_at between b.read_from and b.out_to
),

spine as (
    select s.platform, s.account_id, t.hour_at
    from series as s
    cross join (
        select g.hour_at
        from read_bounds as rb, generate_series(rb.read_from, rb.out_to, interval '1 hour') as g(hour_at)
    ) as t
),

dense as (
    select
        s.platform,
        s.account_id,
        s.hour_at,
        {{ to_local('s.hour_at') }} as local_hour_at,
        coalesce(h.inbound_count, 0) as inbound_count,
        coalesce(r.window_count_peak, 0) as volume_window_count,
        coalesce(h.negative_count, 0) as negative_count,
        coalesce(h.keyword_count, 0) as keyword_count,
        h.keywords_seen
    from spine as s
    left join hourly as h
        on h.platform = s.platform and h.account_id = s.account_id and h.hour_at = s.hour_at
    -- the volume spike is judged on the busiest 60 minutes ending in the hour, not the clock hour
    left join volume_rolling as r
        on r.platform = s.platform and r.account_id = s.account_id and r.hour_at = s.hour_at
),

windowed as (
    select
        *,
        cast((extract(isodow from local_hour_at) - 1) * 24 + extract(hour from local_hour_at) as bigint) as hour_of_week,
        -- the same local hour of the week in each of the previous weeks (dense spine: one row a week)
        {{ window_list('inbound_count',
            'partition by platform, account_id, (extract(isodow from local_hour_at) - 1) * 24 + extract(hour from local_hour_at)
            order by hour_at rows between ' ~ baseline_weeks ~ ' preceding and 1 preceding') }} as volume_history,
        sum(inbound_count) over w_share as inbound_count_window,
        sum(negative_count) over w_share as negative_count_window,
        sum(inbound_count) over w_share_base as inbound_count_share_base,
        sum(negative_count) over w_share_base as negative_count_share_base,
        sum(keyword_count) over w_post as keyword_count_window,
        cast(sum(keyword_count) over w_days_before as double precision) / ({{ ns_days * 24 }}.0 / {{ pt_window }}) as keyword_baseline
    from dense
    window
        w_share as (partition by platform, account_id order by hour_at rows between {{ ns_window - 1 }} preceding and current row),
        w_share_base as (
            partition by platform, account_id order by hour_at
            rows between {{ ns_days * 24 + ns_window - 1 }} preceding and {{ ns_window }} preceding
        ),
        w_post as (partition by platform, account_id order by hour_at rows between {{ pt_window - 1 }} preceding and current row),
        w_days_before as (
            partition by platform, account_id order by hour_at
            rows between {{ ns_days * 24 + pt_window - 1 }} preceding and {{ pt_window }} preceding
        )
),

with_posts as (
    select
        w.*,
        coalesce(p.post_negative_count, 0) as post_negative_count,
        p.post_key
    from windowed as w
    left join posts_read as p
        on p.platform = w.platform and p.account_id = w.account_id and p.hour_at = w.hour_at
),

scored as (
    select
        *,
        coalesce({{ list_length('volume_history') }}, 0) as volume_baseline_weeks,
        coalesce({{ list_median('volume_history') }}, 0) as volume_baseline,
        {{ window_quantile_cont('post_negative_count', 0.9,
            'partition by platform, account_id order by hour_at
            rows between ' ~ (ns_days * 24) ~ ' preceding and ' ~ pt_window ~ ' preceding') }} as post_negative_baseline
    from with_posts
),

measured as (
    select
        *,
        coalesce({{ list_median_abs_deviation('volume_history', 'volume_baseline') }}, 0) as volume_mad,
        cast(negative_count_window as double precision) / nullif(inbound_count_window, 0) as negative_share,
        cast(negative_count_share_base as double precision) / nullif(inbound_count_share_base, 0) as negative_share_baseline
    from scored
)

select
    m.platform || ':' || m.account_id || ':' || {{ hour_key('m.hour_at') }} as signal_key,
    m.platform,
    m.account_id,
    m.hour_at,
    m.local_hour_at,
    m.hour_of_week,
    m.inbound_count,
    m.negative_count,
    m.volume_window_count,
    m.volume_baseline,
    m.volume_mad,
    m.volume_baseline_weeks,
    m.inbound_count_window,
    m.negative_count_window,
    m.negative_share,
    m.negative_share_baseline,
    m.keyword_count_window,
    m.keyword_baseline,
    m.keywords_seen,
    m.post_negative_count,
    m.post_negative_baseline,
    m.post_key,
    -- the newest change of the hourly aggregates this row saw: the next run recomputes from the
    -- earliest hour changed after it, and fct_crisis_signals re-reads the rows stamped since its last build
    (select max(ah.changed_at) from all_hourly as ah) as hourly_changed_through
from measured as m
inner join series as s on m.platform = s.platform and m.account_id = s.account_id
cross join read_bounds as b
where m.hour_at between s.out_from and b.out_to
