{#
  One row per item that needs a response (docs/response-times.md has the definitions): the items of
  int_sla_items_policy_matched (turns sorted in int_sla_thread_turns, policy matched there) with their
  deadlines in business or calendar time, minutes to respond and status as of the run.

  Incremental by thread: a run recomputes only the threads whose turns changed (a message landed or
  scored again) since this table's last load (`batch_loaded_through`), less reload_margin_minutes. The
  pre-hook deletes those threads' rows first, so an item that stopped being one (a message re-scored
  as spam, a late brand reply that merges two items) leaves no stale row; delete+insert on
  sla_event_id is the second guard against duplicates (a message that moved to another thread). The
  watermark is read once, when the model compiles, before the pre-hook deletes the rows that hold it
  (sla_events_loaded_through), so the pre-hook and the select recompute the same threads.
  The post-hook re-evaluates the status of every unanswered row, so items move to at_risk and
  breached as time passes even when nothing new arrives in their thread. --full-refresh rebuilds all.
#}
{{ config(
    materialized='incremental',
    unique_key='sla_event_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook=[
        "{% if is_incremental() %}delete from {{ this }} where thread_key in ({{ sla_threads_to_recompute(ref('int_sla_thread_turns'), this) }}){% endif %}"
    ],
    post_hook=["{{ sla_refresh_open_status() }}"]
) }}
-- depends_on: {{ ref('int_sla_thread_turns') }}
-- depends_on: {{ ref('int_sla_items') }}
-- depends_on: {{ ref('stg_social__posts') }}
-- depends_on: {{ ref('stg_config__sla_policies') }}
-- depends_on: {{ ref('stg_config__sla_policy_conditions') }}
{%- set max_gap_days = var('sla_max_closed_days') | int %}

-- A full build reads the view; an incremental run builds the items of the recomputed threads' turns
-- only and matches their policies (sla_items and sla_policy_matched explain why it does not filter the
-- views: a filter on thread_key read every item of history, texts included, 10 s a cycle at 10M).
with items as (
    {% if is_incremental() -%}
    select m.*
    from (
        {{ sla_policy_matched(sla_items(
            '(' ~ sla_turns_of_threads(
                ref('int_sla_thread_turns'), sla_threads_to_recompute(ref('int_sla_thread_turns'), this)
            ) ~ ')'
        )) }}
    ) as m
    {%- else -%}
    select i.*
    from {{ ref('int_sla_items_policy_matched') }} as i
    {%- endif %}
),

with_policy as (
    select
        i.*,
        cast({{ var('at_risk_share') }} as double precision) as at_risk_share
    from items as i
),

-- Business-time look-ups as equality joins: each span is listed under every UTC day its coverage
-- [open_at, next_open_at) touches, and under every hour of open time (3,600 open seconds) it spans.
-- An item then joins on its day (or its hour of open time) and the exact range picks its one span
-- among the few listed there: a hash join, where a range join over all items sorted every item once
-- per look-up (4 look-ups were 60% of a full build at 10M comments). Bounds: a gap between two
-- openings of at most {{ max_gap_days }} days and spans of at most 25 h, both tested on
-- int_sla_business_intervals.
intervals as (
    select * from {{ ref('int_sla_business_intervals') }}
),

calendar_end as (
    select max(open_at) as last_open_at, {{ dbt.date_trunc('day', 'max(open_at)') }} as last_open_day
    from intervals
),

span_days as (
    select
        {{ dbt.dateadd('day', 'n.generated_number - 1', dbt.date_trunc('day', 's.open_at')) }} as lookup_day,
        s.open_at,
        s.next_open_at,
        s.open_seconds,
        s.seconds_before
    from intervals as s
    cross join ({{ dbt.generate_series(max_gap_days + 1) }}) as n
    where n.generated_number = 1
        or {{ dbt.dateadd('day', 'n.generated_number - 1', dbt.date_trunc('day', 's.open_at')) }} < s.next_open_at
),

span_open_hours as (
    select
        cast(floor(s.seconds_before / 3600) as bigint) + n.generated_number - 1 as open_hour,
        s.open_at,
        s.open_seconds,
        s.seconds_before
    from intervals as s
    cross join ({{ dbt.generate_series(27) }}) as n
    where cast(floor(s.seconds_before / 3600) as bigint) + n.generated_number - 1
        <= cast(floor((s.seconds_before + s.open_seconds) / 3600) as bigint)
),

-- Running total of open seconds at arrival and at the first response. Computed for every item:
-- business minutes are reported beside calendar minutes even under a 24/7 policy.
open_totals as (
    select
        w.*,
        {{ sla_open_seconds_before('ia', 'w.arrived_at') }} as open_seconds_at_arrival,
        case when w.first_response_at is not null
            then {{ sla_open_seconds_before('ir', 'w.first_response_at') }} end as open_seconds_at_response
    from with_policy as w
    cross join calendar_end as ce
    left join span_days as ia
        on ia.lookup_day = {{ sla_lookup_day('w.arrived_at', 'ce') }}
        and {{ sla_span_containing_or_before('ia', 'w.arrived_at') }}
    left join span_days as ir
        on w.first_response_at is not null
        and ir.lookup_day = {{ sla_lookup_day('w.first_response_at', 'ce') }}
        and {{ sla_span_containing_or_before('ir', 'w.first_response_at') }}
),

with_targets as (
    select
        o.*,
        o.open_seconds_at_arrival + o.target_minutes * 60 as open_seconds_at_breach,
        o.open_seconds_at_arrival + round(o.target_minutes * o.at_risk_share * 60) as open_seconds_at_risk
    from open_totals as o
),

deadlines as (
    select
        o.*,
        case
            when o.is_business_time then {{ sla_instant_reaching('ib', 'o.open_seconds_at_breach') }}
            when o.target_minutes is not null
                then {{ dbt.dateadd('second', 'cast(o.target_minutes * 60 as bigint)', 'o.arrived_at') }}
        end as sla_breach_at,
        case
            when o.is_business_time
                then {{ sla_instant_reaching('ik', 'o.open_seconds_at_risk') }}
            when o.target_minutes is not null
                then {{ dbt.dateadd('second', 'cast(round(o.target_minutes * o.at_risk_share * 60) as bigint)', 'o.arrived_at') }}
        end as at_risk_at
    from with_targets as o
    left join span_open_hours as ib
        on o.is_business_time
        and ib.open_hour = cast(floor(o.open_seconds_at_breach / 3600) as bigint)
        and {{ sla_span_reaching('ib', 'o.open_seconds_at_breach') }}
    left join span_open_hours as ik
        on o.is_business_time
        and ik.open_hour = cast(floor(o.open_seconds_at_risk / 3600) as bigint)
        and {{ sla_span_reaching('ik', 'o.open_seconds_at_risk') }}
),

-- The landing stamp from the staged comments themselves: int_comments_authored has the same rows (its
-- joins add columns, never rows), and reading it ran both of its joins over all of history for a max().
loaded as (
    select max(loaded_at) as loaded_through from {{ ref('stg_social__comments') }}
    union all
    select max(enriched_at) from {{ ref('stg_social__comment_enrichment') }}
)

select
    d.sla_event_id,
    d.thread_key,
    d.platform,
    d.account_id,
    d.channel,
    d.thread_id,
    d.item_comment_id,
    d.post_id,
    d.member_id,
    d.item_message,
    d.permalink,
    d.arrived_at,
    d.priority,
    d.intent,
    d.policy_version,
    d.policy_name,
    d.target_minutes,
    d.is_business_time,
    d.sla_breach_at,
    d.at_risk_at,
    d.first_response_at,
    d.first_response_comment_id,
    d.responder_member_id,
    case when d.first_response_at is not null
        then greatest(0, {{ sla_minutes_between('d.arrived_at', 'd.first_response_at') }}) end
        as calendar_minutes_to_respond,
    -- greatest() skips nulls on most engines: keep unanswered items null explicitly.
    case when d.first_response_at is not null
        then greatest(0, d.open_seconds_at_response - d.open_seconds_at_arrival) / 60.0 end
        as business_minutes_to_respond,
    {{ sla_status('d.first_response_at', 'd.sla_breach_at', 'd.at_risk_at') }} as status,
    ({{ sla_status('d.first_response_at', 'd.sla_breach_at', 'd.at_risk_at') }} = 'breached') as is_breached,
    (d.first_response_at is null) as is_active,
    ba.owner_member_id,
    tm.slack_user_id as owner_slack_user_id,
    {{ as_of() }} as evaluated_at,
    (select max(l.loaded_through) from loaded as l) as batch_loaded_through
from deadlines as d
left join {{ ref('stg_config__brand_accounts') }} as ba
    on d.platform = ba.platform and d.account_id = ba.account_id
left join {{ ref('stg_social__team') }} as tm
    on ba.owner_member_id = tm.member_id
