{#
  The SLA items (int_sla_items documents them) of the turns `turns` holds: a relation, or a
  parenthesised query of int_sla_thread_turns rows. The view runs it over every turn, for a full
  build; fct_sla_events' incremental run calls it over the turns of the threads it recomputes only
  (sla_turns_of_threads), which a filter on the view could not narrow before reading every item.
#}
{% macro sla_items(turns) %}
with turns as (
    select * from {{ turns }} as tt
),

posts as (
    select * from {{ ref('stg_social__posts') }}
),

default_accounts as (
    select ba.platform, min(ba.account_id) as account_id
    from {{ ref('stg_config__brand_accounts') }} as ba
    group by ba.platform
)

select
    i.platform || ':' || i.comment_id as sla_event_id,
    i.thread_key,
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
    i.first_response_at,
    i.first_response_comment_id,
    i.responder_member_id
from turns as i
left join posts as po
    on i.platform = po.platform and i.post_id = po.post_id
left join default_accounts as da
    on i.platform = da.platform
where i.is_item
{% endmacro %}
