{{ config(materialized='view') }}
-- One row per item that needs a response (docs/response-times.md): the first live member message of
-- a turn that is not spam, with the brand reply that ended its turn and the account it is addressed
-- to. A view over the turns, which hold the sorting: it adds the post's account and link, and for
-- DMs and mentions (no post) the first configured account of the platform.
with turns as (
    select * from {{ ref('int_sla_thread_turns') }}
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
