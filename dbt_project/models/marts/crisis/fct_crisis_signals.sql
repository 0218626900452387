{{ config(
    materialized='incremental',
    unique_key='signal_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns'
) }}
{#-
  One row per account, platform and UTC hour (plus platform/account 'all' for the whole community),
  with each crisis signal's observed value, baseline, ratio, score and whether it fired, and the
  severity they combine to. Hours with no message are rows with zeros: a quiet hour is a fact. Every
  account that ever had a message has a row for every hour from the community's first message to
  as_of, so its baselines count the quiet weeks before its first message as zeros.

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
{%- set v_min_count = vs.min_count -%}
{%- set v_min_ratio = vs.min_ratio -%}
{%- set v_min_z = vs.min_z -%}
{%- set ns_window = ns.window_hours | int -%}
{%- set ns_days = ns.baseline_days | int -%}
{%- set ns_min_count = ns.min_count -%}
{%- set ns_min_share = ns.min_share -%}
{%- set ns_min_ratio = ns.min_ratio -%}
{%- set pt_window = pt.window_hours | int -%}
{%- set pt_min_negative = pt.min_negative -%}
{%- set kw_min_hits = c.min_keyword_hits -%}
{#- The volume baseline takes the previous rows of the same local hour of the week: where a
    daylight-saving switch skips that local hour once, the fourth one back is five weeks away. -#}
{%- set baseline_hours = [(baseline_weeks + 1) * 168, ns_days * 24 + ns_window, ns_days * 24 + pt_window] | max -%}
{%- set lookback = var('lookback_hours') | int -%}
{%- set margin = var('reload_margin_minutes') | int -%}
{#- A baseline share never counts as lower than this floor, so one negative comment in a quiet
    fortnight does not make every later negative an infinite ratio. -#}
{%- set share_floor = ns.baseline_floor -%}
{%- set keyword_ratio = c.min_keyword_ratio -%}
{%- set pt_min_ratio = pt.min_ratio -%}
{#- A table built before hourly_changed_through existed: recompute every hour once (the column is
    then added by on_schema_change). -#}
{%- set has_watermark = false -%}
{%- if is_incremental() -%}
    {%- set has_watermark = 'hourly_changed_through' in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) -%}
{%- endif %}

with all_hourly as (
    select * from {{ ref('int_crisis_hourly') }}
),

bounds as (
    select
        {{ dbt.date_trunc('hour', as_of()) }} as out_to,
        -- the community's first hour with a message: where every series starts, in every build
        (select min(hour_at) from all_hourly) as first_hour,
        {% if is_incremental() and has_watermark %}
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
    left join {{ ref('int_crisis_volume_rolling') }} as r
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

-- negatives per post over the trailing post window: each post-hour counts in the window of every
-- hour it precedes by less than window_hours, so quiet hours after a burst still see it
post_window as (
    select
        p.platform,
        p.account_id,
        p.post_id,
        p.hour_at + t.k * interval '1 hour' as hour_at,
        sum(p.negative_count) as negatives_in_window
    from {{ ref('int_crisis_post_hourly') }} as p
    cross join (select g.k from generate_series(0, {{ pt_window - 1 }}) as g(k)) as t
    cross join read_bounds as b
    where p.hour_at between b.read_from - interval '{{ pt_window }} hour' and b.out_to
    group by 1, 2, 3, 4
),

post_top_account as (
    select platform, account_id, hour_at,
        max(negatives_in_window) as post_negative_count,
        -- ties go to the smaller key (as in fct_crisis_incidents' post_keys): arg_max picks any of
        -- them, and an incremental run and a full build then named different posts
        {{ first_ordered("platform || ':' || post_id", "negatives_in_window desc, platform || ':' || post_id") }} as post_key
    from post_window
    group by platform, account_id, hour_at
),

post_top as (
    select * from post_top_account
    union all
    select 'all' as platform, 'all' as account_id, hour_at, max(post_negative_count) as post_negative_count,
        {{ first_ordered('post_key', 'post_negative_count desc, post_key') }} as post_key
    from post_top_account
    group by hour_at
),

with_posts as (
    select
        w.*,
        coalesce(p.post_negative_count, 0) as post_negative_count,
        p.post_key
    from windowed as w
    left join post_top as p
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
),

signals as (
    select
        *,
        volume_window_count / greatest(volume_baseline, 1) as volume_ratio,
        -- modified z-score (Iglewicz & Hoaglin); the MAD of counts is floored at 1, so a baseline of
        -- zeros does not turn two comments into an infinite score
        0.6745 * (volume_window_count - volume_baseline) / greatest(volume_mad, 1) as volume_score,
        coalesce(negative_share, 0) / greatest(coalesce(negative_share_baseline, 0), {{ share_floor }})
            as negative_share_ratio,
        keyword_count_window / greatest(coalesce(keyword_baseline, 0), 0.5) as keyword_ratio,
        post_negative_count / greatest(coalesce(post_negative_baseline, 0), 1) as post_negative_ratio
    from measured
),

fired as (
    select
        *,
        coalesce(
            volume_baseline_weeks >= 2
            and volume_window_count >= {{ v_min_count }}
            and volume_ratio >= {{ v_min_ratio }}
            and volume_score >= {{ v_min_z }},
            false
        ) as volume_fired,
        coalesce(
            negative_count_window >= {{ ns_min_count }}
            -- fewer messages than min_count / min_share: min_count negatives alone pass min_share
            -- (docs/crisis.md, "Small numbers")
            and inbound_count_window >= {{ ns_min_count }} / {{ ns_min_share }}
            and negative_share >= {{ ns_min_share }}
            and negative_share_ratio >= {{ ns_min_ratio }},
            false
        ) as negative_share_fired,
        coalesce(keyword_count_window >= {{ kw_min_hits }} and keyword_ratio >= {{ keyword_ratio }}, false)
            as keywords_fired,
        coalesce(post_negative_count >= {{ pt_min_negative }} and post_negative_ratio >= {{ pt_min_ratio }}, false) as post_fired
    from signals
),

combined as (
    select
        *,
        cast(volume_fired as int) + cast(negative_share_fired as int) + cast(keywords_fired as int)
            + cast(post_fired as int) as signals_fired,
        concat_ws(',',
            case when volume_fired then 'volume_spike' end,
            case when negative_share_fired then 'negative_share' end,
            case when keywords_fired then 'crisis_keywords' end,
            case when post_fired then 'post_turning_negative' end
        ) as fired_signals
    from fired
)

select
    combined.platform || ':' || combined.account_id || ':' || {{ hour_key('combined.hour_at') }} as signal_key,
    combined.platform,
    combined.account_id,
    combined.hour_at,
    combined.hour_at + interval '1 hour' as hour_end_at,
    combined.local_hour_at,
    combined.hour_of_week,
    combined.inbound_count,
    combined.negative_count,
    combined.volume_window_count,
    combined.volume_baseline,
    combined.volume_mad,
    combined.volume_baseline_weeks,
    {{ round_float('combined.volume_ratio', 3) }} as volume_ratio,
    {{ round_float('combined.volume_score', 3) }} as volume_score,
    combined.volume_fired,
    combined.inbound_count_window,
    combined.negative_count_window,
    {{ round_float('combined.negative_share', 4) }} as negative_share,
    {{ round_float('combined.negative_share_baseline', 4) }} as negative_share_baseline,
    {{ round_float('combined.negative_share_ratio', 3) }} as negative_share_ratio,
    combined.negative_share_fired,
    combined.keyword_count_window,
    {{ round_float('combined.keyword_baseline', 3) }} as keyword_baseline,
    {{ round_float('combined.keyword_ratio', 3) }} as keyword_ratio,
    combined.keywords_fired,
    combined.keywords_seen,
    combined.post_negative_count,
    combined.post_negative_baseline,
    {{ round_float('combined.post_negative_ratio', 3) }} as post_negative_ratio,
    combined.post_key,
    combined.post_fired,
    combined.signals_fired,
    nullif(combined.fired_signals, '') as fired_signals,
    case
        when combined.signals_fired >= 3
            or (
                combined.volume_fired and combined.volume_ratio >= 2 * {{ v_min_ratio }}
                and combined.signals_fired >= 2
            )
            then 'critical'
        -- a busy hour alone (a giveaway, a viral post) is not a crisis; a sustained dip in sentiment is
        when combined.signals_fired = 2 or combined.negative_share_fired then 'warning'
        when combined.signals_fired = 1 then 'watch'
    end as severity,
    -- the newest change of the hourly aggregates this row saw: the next run recomputes from the
    -- earliest hour changed after it
    (select max(ah.changed_at) from all_hourly as ah) as hourly_changed_through
from combined
inner join series as s using (platform, account_id)
cross join read_bounds as b
where combined.hour_at between s.out_from and b.out_to
