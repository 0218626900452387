-- Every message written by a community member (not the brand, not the team) up to the evaluation
-- instant, with what the member levels and contributor reports need: its activity weight, its
-- sentiment when enrichment exists, how many replies it drew, and whether it helps another member.
-- Whole rows are read where they are used and never materialised (see with_parent): history is
-- looked up on itself once, for the parent's author; the replies are counted by grouping. Messages
-- and parents are matched on their integer keys (message_sk, parent_message_sk: stg_social__comments),
-- not on the text key of 12M rows at 10M comments, which spilled under the build's memory limit.
with authored as not materialized (
    select * from {{ ref('int_comments_authored') }}
    where created_at <= {{ as_of() }}
),

-- Each message with its parent's author, for whether it answers another member: the one look-up of
-- parents (a hash join of history on itself), read once and never materialised, so the whole rows
-- (texts included) are not stored.
with_parent as not materialized (
    select
        c.*,
        parent.author_id as parent_author_id,
        parent.author_kind as parent_author_kind
    from authored as c
    left join authored as parent
        on c.parent_message_sk = parent.message_sk
),

-- The replies each message drew, counted without looking their parent up (that look-up ran a second
-- time for this before, and was the larger part of this model at 10M comments): the replies by a
-- known author, per parent and reply author. Answering yourself is not a reply received, so the
-- final select subtracts the row of the parent's own author; a parent without a known author has
-- none received, as `author_id <> parent_author_id` is never true then.
replies_by_author as (
    select
        r.parent_message_sk,
        r.author_id,
        count(*) as replies,
        count(*) filter (where r.is_brand) as brand_replies
    from authored as r
    where r.parent_message_sk is not null and r.author_id is not null
    group by r.parent_message_sk, r.author_id
),

replies as (
    select
        rba.parent_message_sk,
        sum(rba.replies) as replies,
        sum(rba.brand_replies) as brand_replies
    from replies_by_author as rba
    group by rba.parent_message_sk
)

select
    c.platform,
    c.comment_id,
    c.author_id,
    c.platform || ':' || c.author_id as member_key,
    c.author_name,
    c.post_id,
    c.parent_id,
    c.channel,
    c.created_at,
    {{ to_local('c.created_at') }} as created_local,
    cast({{ to_local('c.created_at') }} as date) as created_date,
    coalesce(c.like_count, 0) as like_count,
    e.sentiment_score,
    e.sentiment_label,
    coalesce(e.intent, 'other') as intent,
    coalesce(e.intent = 'spam', false) as is_spam,
    coalesce(w.weight, 0) as activity_weight,
    case when c.author_id is null then 0
        else cast(coalesce(rp.replies, 0) - coalesce(own.replies, 0) as bigint) end as replies_received,
    case when c.author_id is null then 0
        else cast(coalesce(rp.brand_replies, 0) - coalesce(own.brand_replies, 0) as bigint) end
        as brand_replies_received,
    coalesce(
        c.parent_author_kind = 'member' and c.parent_author_id <> c.author_id, false
    ) as is_reply_to_other_member
from with_parent as c
left join {{ ref('stg_social__comment_enrichment') }} as e
    on c.message_sk = e.message_sk
left join {{ ref('stg_config__member_activity_weights') }} as w
    on c.channel = w.channel
left join replies as rp
    on c.message_sk = rp.parent_message_sk
left join replies_by_author as own
    on c.message_sk = own.parent_message_sk and c.author_id = own.author_id
where c.author_kind = 'member'
