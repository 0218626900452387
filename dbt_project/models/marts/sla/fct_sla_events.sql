{#
  One row per item that needs a response (docs/response-times.md has the definitions).

  Incremental by thread: a run recomputes only the threads in int_sla_threads_touched (new or edited
  messages since the last load, minus the look-back). The pre-hook deletes those threads' rows first,
  so an item that stopped being one (a message re-scored as spam, a late brand reply that merges two
  items) leaves no stale row; delete+insert on sla_event_id is the second guard against duplicates.
  The post-hook re-evaluates the status of every unanswered row, so items move to at_risk and
  breached as time passes even when nothing new arrives in their thread. --full-refresh rebuilds all.
#}
{{ config(
    materialized='incremental',
    unique_key='sla_event_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook=[
        "{% if is_incremental() %}delete from {{ this }} where thread_key in (select thread_key from {{ ref('int_sla_threads_touched') }}){% endif %}"
    ],
    post_hook=["{{ sla_refresh_open_status() }}"]
) }}
-- depends_on: {{ ref('int_sla_business_intervals') }}
-- depends_on: {{ ref('int_sla_threads_touched') }}
{%- set max_gap_days = var('sla_max_closed_days') | int %}

with authored as (
    select c.*
    from {{ ref('int_comments_authored') }} as c
    {% if is_incremental() -%}
    -- thread_id is stored in stg_social__comments (a table), so this join reads one column of
    -- history, not the staging of every message
    inner join {{ ref('int_sla_threads_touched') }} as t
        on c.platform = t.platform and c.thread_id = t.thread_id
    {%- endif %}
),

-- Deleted messages and messages without a time are out of the conversation.
live as (
    select *
    from authored
    where created_at is not null and not coalesce(is_deleted, false)
),

messages as (
    select
        m.platform,
        m.comment_id,
        m.thread_id,
        m.post_id,
        m.author_id,
        m.channel,
        m.message,
        m.created_at,
        m.is_brand,
        m.team_member_id,
        coalesce(e.intent, 'other') as intent,
        coalesce(e.priority, 'normal') as priority,
        -- A brand reply stamped before the message it answers (clock skew) is placed right after it,
        -- so it still answers it, in zero minutes.
        case
            when m.is_brand and p.created_at > m.created_at then p.created_at
            else m.created_at
        end as sequenced_at
    from live as m
    left join {{ ref('stg_social__comment_enrichment') }} as e
        on m.platform = e.platform and m.comment_id = e.comment_id
    left join live as p
        on m.is_brand and m.platform = p.platform and m.thread_id = p.thread_id and m.parent_id = p.comment_id
),

-- brand_turn: how many brand messages come before (for a brand message: up to and including it).
-- Member messages between the same two brand messages share a turn and form at most one item.
sequenced as (
    select
        *,
        sum(case when is_brand then 1 else 0 end) over (
            partition by platform, thread_id
            order by sequenced_at, case when is_brand then 1 else 0 end, comment_id
            rows between unbounded preceding and current row
        ) as brand_turn
    from messages
),

candidates as (
    select
        *,
        row_number() over (
            partition by platform, thread_id, brand_turn order by sequenced_at, comment_id
        ) as n_in_turn
    from sequenced
    where not is_brand and intent <> 'spam'
),

brand_replies as (
    select platform, thread_id, brand_turn, comment_id, sequenced_at, team_member_id
    from sequenced
    where is_brand
),

default_accounts as (
    select platform, min(account_id) as account_id
    from {{ ref('stg_config__brand_accounts') }}
    group by platform
),

items as (
    select
        i.platform || ':' || i.comment_id as sla_event_id,
        i.platform || ':' || i.thread_id as thread_key,
        i.platform,
        coalesce(po.account_id, da.account_id) as account_id,
        i.channel,
        i.thread_id,
        i.comment_id as item_comment_id,
        i.post_id,
        i.author_id as member_id,
        i.message as item_message,
        po.permalink,
        i.created_at as arrived_at,
        i.priority,
        i.intent,
        r.sequenced_at as first_response_at,
        r.comment_id as first_response_comment_id,
        r.team_member_id as responder_member_id
    from candidates as i
    left join brand_replies as r
        on i.platform = r.platform and i.thread_id = r.thread_id and r.brand_turn = i.brand_turn + 1
    left join {{ ref('stg_social__posts') }} as po
        on i.platform = po.platform and i.post_id = po.post_id
    left join default_accounts as da
        on i.platform = da.platform
    where i.n_in_turn = 1
),

-- Policy matching: the first policy (by position) of the version in force when the item arrived
-- whose every listed field holds the item's value. It runs on the items' distinct profiles (version x
-- platform x channel x account x priority x intent: a few hundred) rather than on every item, whose
-- per-field comparison was a third of this model's time; items then join their profile by equality.
policy_versions as (
    select distinct policy_version, valid_from, valid_to
    from {{ ref('stg_config__sla_policies') }}
),

item_versions as (
    select i.*, v.policy_version as version_in_force
    from items as i
    left join policy_versions as v
        on i.arrived_at >= v.valid_from and (v.valid_to is null or i.arrived_at < v.valid_to)
),

profiles as (
    select
        row_number() over (order by version_in_force, platform, channel, account_id, priority, intent) as profile_id,
        version_in_force, platform, channel, account_id, priority, intent
    from (
        select distinct version_in_force, platform, channel, account_id, priority, intent
        from item_versions
        where version_in_force is not null
    ) as d
),

profile_candidates as (
    select pr.profile_id, p.policy_version, p.position, p.policy_name, p.target_minutes, p.is_business_time
    from profiles as pr
    inner join {{ ref('stg_config__sla_policies') }} as p
        on p.policy_version = pr.version_in_force
),

-- (profile, policy, field) where the profile's value is none of the values the policy lists for the field.
profile_misses as (
    select pc.profile_id, pc.policy_name
    from profile_candidates as pc
    inner join {{ ref('stg_config__sla_policy_conditions') }} as c
        on pc.policy_version = c.policy_version and pc.policy_name = c.policy_name
    inner join profiles as pr
        on pc.profile_id = pr.profile_id
    group by pc.profile_id, pc.policy_name, c.field
    having sum(
        case
            when c.value = case c.field
                when 'platform' then pr.platform
                when 'channel' then pr.channel
                when 'account_id' then pr.account_id
                when 'priority' then pr.priority
                when 'intent' then pr.intent
            end then 1
            else 0
        end
    ) = 0
),

profile_policy as (
    select profile_id, policy_version, policy_name, target_minutes, is_business_time
    from (
        select
            pc.*,
            row_number() over (partition by pc.profile_id order by pc.position) as match_rank
        from profile_candidates as pc
        where not exists (
            select 1
            from profile_misses as pm
            where pm.profile_id = pc.profile_id and pm.policy_name = pc.policy_name
        )
    ) as ranked
    where match_rank = 1
),

with_policy as (
    select
        i.*,
        p.policy_version,
        p.policy_name,
        p.target_minutes,
        p.is_business_time,
        cast({{ var('at_risk_share') }} as double precision) as at_risk_share
    from item_versions as i
    left join profiles as pr
        on pr.version_in_force = i.version_in_force
        and pr.platform is not distinct from i.platform
        and pr.channel is not distinct from i.channel
        and pr.account_id is not distinct from i.account_id
        and pr.priority is not distinct from i.priority
        and pr.intent is not distinct from i.intent
    left join profile_policy as p
        on p.profile_id = pr.profile_id
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

loaded as (
    select max(loaded_at) as loaded_through from {{ ref('int_comments_authored') }}
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
