{{ config(
    materialized='incremental',
    unique_key='signal_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns'
) }}
{#-
  One row per account, platform and UTC hour (plus platform/account 'all' for the whole community),
  with each crisis signal's observed value, baseline, ratio, score and whether it fired, and the
  severity they combine to. int_crisis_hourly_baselines holds the hourly grid, the windows and the
  baselines; this model applies the thresholds of community.yml `crisis:` (docs/crisis.md).

  Incremental, and equal to a --full-refresh: a run re-reads the rows int_crisis_hourly_baselines
  wrote since this model's last build. Each of its rows carries the newest change of the hourly
  aggregates its build saw (hourly_changed_through), which only grows, so the rows it rewrote carry at
  least the newest stamp this model holds. tests/dbt/test_incremental_equals_full.py holds it to this.
-#}
{%- set c = var('crisis') -%}
{%- set vs = c.volume_spike -%}
{%- set ns = c.negative_share -%}
{%- set pt = c.post_turning_negative -%}
{%- set v_min_count = vs.min_count -%}
{%- set v_min_ratio = vs.min_ratio -%}
{%- set v_min_z = vs.min_z -%}
{%- set ns_min_count = ns.min_count -%}
{%- set ns_min_share = ns.min_share -%}
{%- set ns_min_ratio = ns.min_ratio -%}
{%- set pt_min_negative = pt.min_negative -%}
{%- set kw_min_hits = c.min_keyword_hits -%}
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

with baselines as (
    select * from {{ ref('int_crisis_hourly_baselines') }}
    {% if is_incremental() and has_watermark %}
    -- coalesce: after a build that saw no row, max() is null and nothing would compare
    where hourly_changed_through >= (
        select coalesce(max(t.hourly_changed_through), timestamp '1900-01-01') from {{ this }} as t
    )
    {% endif %}
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
    from baselines
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
    combined.signal_key,
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
    -- the newest change of the hourly aggregates the baselines' build saw: the next run re-reads
    -- the rows stamped since
    combined.hourly_changed_through
from combined
