{#
  The policy matching of SLA items (int_sla_items_policy_matched documents it), over the items that
  `items_query` selects. The view runs it over every item, for a full build; fct_sla_events' incremental
  run calls it over the items of the threads it recomputes only. Filtering the view instead matched
  every item of history on each cycle: its items feed two consumers (the profiles and the result), so
  DuckDB materialises them whole and applies the thread filter only at the end (3x slower at 10M).
#}
{% macro sla_policy_matched(items_query) %}
with items as (
    {{ items_query }}
),


policies as (
    select * from {{ ref('stg_config__sla_policies') }}
),

conditions as (
    select * from {{ ref('stg_config__sla_policy_conditions') }}
),

policy_versions as (
    select distinct p.policy_version, p.valid_from, p.valid_to
    from policies as p
),

-- read twice (profiles, and the result) and not materialised: it holds the items' texts
item_versions as not materialized (
    select
        i.*,
        v.policy_version as version_in_force
    from items as i
    left join policy_versions as v
        on i.arrived_at >= v.valid_from and (v.valid_to is null or i.arrived_at < v.valid_to)
),

profiles as (
    select
        row_number() over (order by d.version_in_force, d.platform, d.channel, d.account_id, d.priority, d.intent)
            as profile_id,
        d.version_in_force,
        d.platform,
        d.channel,
        d.account_id,
        d.priority,
        d.intent
    from (
        select distinct iv.version_in_force, iv.platform, iv.channel, iv.account_id, iv.priority, iv.intent
        from item_versions as iv
        where iv.version_in_force is not null
    ) as d
),

profile_candidates as (
    select pr.profile_id, p.policy_version, p.position, p.policy_name, p.target_minutes, p.is_business_time
    from profiles as pr
    inner join policies as p
        on pr.version_in_force = p.policy_version
),

-- (profile, policy, field) where the profile's value is none of the values the policy lists for the field.
profile_misses as (
    select pc.profile_id, pc.policy_name
    from profile_candidates as pc
    inner join conditions as c
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
    select
        ranked.profile_id,
        ranked.policy_version,
        ranked.policy_name,
        ranked.target_minutes,
        ranked.is_business_time
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
    where ranked.match_rank = 1
)

select
    i.sla_event_id,
    i.thread_key,
    i.platform,
    i.account_id,
    i.channel,
    i.thread_id,
    i.item_comment_id,
    i.post_id,
    i.member_id,
    i.item_message,
    i.permalink,
    i.arrived_at,
    i.priority,
    i.intent,
    i.first_response_at,
    i.first_response_comment_id,
    i.responder_member_id,
    p.policy_version,
    p.policy_name,
    p.target_minutes,
    p.is_business_time
from item_versions as i
left join profiles as pr
    on i.version_in_force = pr.version_in_force
    and i.platform is not distinct from pr.platform
    and i.channel is not distinct from pr.channel
    and i.account_id is not distinct from pr.account_id
    and i.priority is not distinct from pr.priority
    and i.intent is not distinct from pr.intent
left join profile_policy as p
    on pr.profile_id = p.profile_id
{% endmacro %}
