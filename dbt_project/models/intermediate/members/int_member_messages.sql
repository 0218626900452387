-- Every message written by a community member (not the brand, not the team) up to the evaluation
-- instant, with what the member levels and contributor reports need: its activity weight, its
-- sentiment when enrichment exists, how many replies it drew, and whether it helps another member.
-- Whole rows are read where they are used and never materialised (see with_parent).
with authored as not materialized (
    select * from {{ ref('int_comments_authored') }}
    where created_at <= {{ as_of() }}
),

-- Each message with its parent's author. Read twice (the replies each message drew, and whether a
-- message answers another member), and not materialised: DuckDB would otherwise store every row of
-- history in full, texts included, for the second read (most of this model's time at 10M comments).
with_parent as not materialized (
    select
        c.*,
        parent.author_id as parent_author_id,
        parent.author_kind as parent_author_kind
    from authored as c
    left join authored as parent
        on c.platform = parent.platform and c.parent_id = parent.comment_id
),

replies as (
    select
        r.platform,
        r.parent_id,
        count(*) as replies_received,
        count(*) filter (where r.is_brand) as brand_replies_received
    from with_parent as r
    -- answering yourself is not a reply received (and a reply to a message not held has no parent)
    where r.author_id <> r.parent_author_id
    group by r.platform, r.parent_id
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
    coalesce(rp.replies_received, 0) as replies_received,
    coalesce(rp.brand_replies_received, 0) as brand_replies_received,
    coalesce(
        c.parent_author_kind = 'member' and c.parent_author_id <> c.author_id, false
    ) as is_reply_to_other_member
from with_parent as c
left join {{ ref('stg_social__comment_enrichment') }} as e
    on c.platform = e.platform and c.comment_id = e.comment_id
left join {{ ref('stg_config__member_activity_weights') }} as w
    on c.channel = w.channel
left join replies as rp
    on c.platform = rp.platform and c.comment_id = rp.parent_id
where c.author_kind = 'member'
