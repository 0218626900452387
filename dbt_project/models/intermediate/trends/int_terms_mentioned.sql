-- Every term of every inbound member message up to the evaluation instant, with who wrote it, the
-- account it was addressed to, its local day and ISO week, and its sentiment. The brand and its team
-- are left out (int_crisis_comments holds inbound member messages only, with their account), and so are
-- messages scored as spam and mentions of the brand's own handles (members tag the brand all the time).
-- Terms count for the version of the text that was scored: a comment edited since has its terms
-- rewritten at its next scoring.
with brand_handles as (
    select distinct '@' || lower(ltrim(handle, '@')) as term
    from {{ ref('stg_config__brand_accounts') }}
    where handle is not null
),

terms as (
    select t.*
    from {{ ref('stg_social__comment_terms') }} as t
    where not (t.kind = 'mention' and t.term in (select bh.term from brand_handles as bh))
)

select
    t.platform,
    t.comment_id,
    t.platform || ':' || t.comment_id as comment_key,
    c.account_id,
    -- no author id (an anonymous review): the message stands for its own author
    coalesce(a.author_id, t.platform || ':' || t.comment_id) as author_id,
    t.content_hash,
    t.term,
    t.surface,
    t.kind,
    t.language,
    c.created_at,
    cast({{ to_local('c.created_at') }} as date) as created_date,
    cast({{ dbt.date_trunc('week', to_local('c.created_at')) }} as date) as created_week,
    c.sentiment_score,
    c.is_negative
from terms as t
inner join {{ ref('int_crisis_comments') }} as c
    on c.platform = t.platform and c.comment_id = t.comment_id
inner join {{ ref('int_comments_authored') }} as a
    on a.platform = t.platform and a.comment_id = t.comment_id
inner join {{ ref('stg_social__comment_enrichment') }} as e
    on e.platform = t.platform and e.comment_id = t.comment_id and e.content_hash = t.content_hash
where c.created_at <= {{ as_of() }}
    and e.intent <> 'spam'
