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
-- depends_on: {{ ref('int_sla_threads_touched') }}

with authored as (
    select c.*
    from {{ ref('int_comments_authored') }} as c
    {% if is_incremental() -%}
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

-- Policies of the version in force when the item arrived.
policy_candidates as (
    select
        i.sla_event_id,
        p.policy_version,
        p.position,
        p.policy_name,
        p.target_minutes,
        p.is_business_time
    from items as i
    inner join {{ ref('stg_config__sla_policies') }} as p
        on i.arrived_at >= p.valid_from and (p.valid_to is null or i.arrived_at < p.valid_to)
),

-- (item, policy, field) where the item's value is none of the values the policy lists for the field.
policy_misses as (
    select pc.sla_event_id, pc.policy_version, pc.policy_name
    from policy_candidates as pc
    inner join {{ ref('stg_config__sla_policy_conditions') }} as c
        on pc.policy_version = c.policy_version and pc.policy_name = c.policy_name
    inner join items as i
        on pc.sla_event_id = i.sla_event_id
    group by pc.sla_event_id, pc.policy_version, pc.policy_name, c.field
    having sum(
        case
            when c.value = case c.field
                when 'platform' then i.platform
                when 'channel' then i.channel
                when 'account_id' then i.account_id
                when 'priority' then i.priority
                when 'intent' then i.intent
            end then 1
            else 0
        end
    ) = 0
),

policy_ranked as (
    select
        pc.*,
        row_number() over (partition by pc.sla_event_id order by pc.position) as match_rank
    from policy_candidates as pc
    where not exists (
        select 1
        from policy_misses as pm
        where pm.sla_event_id = pc.sla_event_id
            and pm.policy_version = pc.policy_version
            and pm.policy_name = pc.policy_name
    )
),

with_policy as (
    select
        i.*,
        p.policy_version,
        p.policy_name,
        p.target_minutes,
        p.is_business_time,
        cast({{ var('at_risk_share', 0.75) }} as double) as at_risk_share
    from items as i
    left join policy_ranked as p
        on i.sla_event_id = p.sla_event_id and p.match_rank = 1
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
    left join {{ ref('int_sla_business_intervals') }} as ia
        on {{ sla_span_containing_or_before('ia', 'w.arrived_at') }}
    left join {{ ref('int_sla_business_intervals') }} as ir
        on w.first_response_at is not null
        and {{ sla_span_containing_or_before('ir', 'w.first_response_at') }}
),

deadlines as (
    select
        o.*,
        case
            when o.is_business_time then {{ sla_instant_reaching('ib', 'o.open_seconds_at_arrival + o.target_minutes * 60') }}
            when o.target_minutes is not null
                then {{ dbt.dateadd('second', 'cast(o.target_minutes * 60 as bigint)', 'o.arrived_at') }}
        end as sla_breach_at,
        case
            when o.is_business_time
                then {{ sla_instant_reaching('ik', 'o.open_seconds_at_arrival + round(o.target_minutes * o.at_risk_share * 60)') }}
            when o.target_minutes is not null
                then {{ dbt.dateadd('second', 'cast(round(o.target_minutes * o.at_risk_share * 60) as bigint)', 'o.arrived_at') }}
        end as at_risk_at
    from open_totals as o
    left join {{ ref('int_sla_business_intervals') }} as ib
        on o.is_business_time
        and {{ sla_span_reaching('ib', 'o.open_seconds_at_arrival + o.target_minutes * 60') }}
    left join {{ ref('int_sla_business_intervals') }} as ik
        on o.is_business_time
        and {{ sla_span_reaching('ik', 'o.open_seconds_at_arrival + round(o.target_minutes * o.at_risk_share * 60)') }}
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
    (select max(loaded_through) from loaded) as batch_loaded_through
from deadlines as d
left join {{ ref('stg_config__brand_accounts') }} as ba
    on d.platform = ba.platform and d.account_id = ba.account_id
left join {{ ref('stg_social__team') }} as tm
    on ba.owner_member_id = tm.member_id
