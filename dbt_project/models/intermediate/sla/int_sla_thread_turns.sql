{{ config(
    materialized='incremental',
    unique_key=['platform', 'comment_id'],
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook=["{% if is_incremental() %}{{ hash_joins_only() }}{% endif %}"]
) }}
{#
  Every message of every thread, placed in its thread's turns: the one sort of each thread the SLA
  items need (docs/response-times.md). A turn is the run of member messages up to and including the
  brand's next reply; the first live member message of a turn that is not spam is an item, answered
  by that reply.

  Incremental by thread: a run re-sorts only the threads with a message landed (or scored again by
  enrichment) since this table's own watermark (the newest `loaded_at` and `enriched_at` it holds),
  less reload_margin_minutes, and writes back every message of those threads (delete+insert on the
  message key). Every message keeps its row, deleted ones and ones without a time included (flagged,
  outside the turns), so a thread's rows are always replaced whole and no pre-hook delete is needed;
  and since a row is only ever replaced by one with the same or newer stamps, the watermark never
  moves back. --full-refresh sorts every thread once.

  On PostgreSQL an incremental run joins by hash only (`hash_joins_only`, macros/portable.sql): its
  CTEs have no statistics, and the first cycle after a backfill (every thread touched) was planned as
  a few rows, a merge join comparing every message with every other of its platform (844 s at 124k
  comments, 2 s by hash). The full refresh reads the tables, whose statistics the planner has.
#}
{%- set margin = var('reload_margin_minutes') | int %}

-- Whole rows (texts included) are read where they are used and never materialised: DuckDB would
-- otherwise store a CTE read twice in full, all of history's texts at a full build.
with authored as not materialized (
    select * from {{ ref('int_comments_authored') }}
),

enrichment as (
    select * from {{ ref('stg_social__comment_enrichment') }}
),

{% if is_incremental() -%}
-- Compared with scalar subqueries, not a joined row, so DuckDB pushes the time filters into the scans.
landed as (
    select a.platform, a.thread_id, a.comment_id
    from authored as a
    where a.loaded_at > (
        select coalesce(max(t.loaded_at), cast('1900-01-01' as timestamp)) from {{ this }} as t
    ) - interval '{{ margin }} minute'
),

-- scored again without landing again (a new model version): none in the steady state, and an empty
-- side lets DuckDB skip the look-up of their threads, which reads the whole history
rescored as (
    select e.platform, e.comment_id
    from enrichment as e
    where e.enriched_at > (
        select coalesce(max(t.enriched_at), cast('1900-01-01' as timestamp)) from {{ this }} as t
    ) - interval '{{ margin }} minute'
        and not exists (select 1 from landed as l where l.platform = e.platform and l.comment_id = e.comment_id)
),

-- Materialised: small, and read by both reads of thread_messages below.
threads_touched as materialized (
    select l.platform, l.thread_id from landed as l
    union
    select a.platform, a.thread_id
    from authored as a
    where exists (select 1 from rescored as r where r.platform = a.platform and r.comment_id = a.comment_id)
),

-- the touched threads' messages: few, so stored once for the two reads below (not materialised,
-- each read would look every thread of history up again)
thread_messages as materialized (
    select a.*
    from authored as a
    inner join threads_touched as t
        on a.platform = t.platform and a.thread_id = t.thread_id
),
{%- else %}
thread_messages as not materialized (
    select * from authored
),
{%- endif %}

-- The sort below carries only these narrow columns: at 10M comments, sorting whole rows (texts
-- included) under the build's memory limit spilled most of them to disk.
messages as (
    select
        m.platform,
        m.comment_id,
        m.thread_id,
        m.parent_id,
        m.created_at,
        m.is_brand,
        m.team_member_id,
        e.enriched_at,
        coalesce(e.intent, 'other') as intent,
        coalesce(e.priority, 'normal') as priority,
        -- Deleted messages and messages without a time are out of the conversation.
        (m.created_at is not null and not coalesce(m.is_deleted, false)) as is_live
    from thread_messages as m
    left join enrichment as e
        on m.platform = e.platform and m.comment_id = e.comment_id
),

live as (
    select
        m.*,
        (not m.is_brand and m.intent <> 'spam') as is_candidate
    from messages as m
    where m.is_live
),

-- A brand reply stamped before the message it answers (clock skew) is placed right after it, so it
-- still answers it, in zero minutes. Only brand messages look their parent up.
placed as (
    select
        m.*,
        case
            when m.is_brand and p.created_at > m.created_at then p.created_at
            else m.created_at
        end as sequenced_at
    from live as m
    left join live as p
        on m.is_brand and m.platform = p.platform and m.thread_id = p.thread_id and m.parent_id = p.comment_id
),

-- One sort per thread, for both running counts (same window). brand_turn: brand messages up to this
-- one (for a brand message: up to and including it); member messages between the same two brand
-- messages share a turn and form at most one item. candidates_so_far: live member messages that are
-- not spam, up to this one.
counted as (
    select
        p.*,
        sum(case when p.is_brand then 1 else 0 end) over thread_order as brand_turn,
        sum(case when p.is_candidate then 1 else 0 end) over thread_order as candidates_so_far
    from placed as p
    window thread_order as (
        partition by p.platform, p.thread_id
        order by p.sequenced_at, case when p.is_brand then 1 else 0 end, p.comment_id
        rows between unbounded preceding and current row
    )
),

brand_replies as (
    select c.platform, c.thread_id, c.brand_turn, c.comment_id, c.sequenced_at, c.team_member_id, c.candidates_so_far
    from counted as c
    where c.is_brand
),

-- A candidate is the first of its turn when one more candidate has been seen than at the brand
-- message that opened the turn (none before the first brand message): a hash join, not a second sort.
sequenced as (
    select
        c.platform,
        c.comment_id,
        c.thread_id,
        c.brand_turn,
        c.sequenced_at,
        (c.is_candidate and c.candidates_so_far = coalesce(o.candidates_so_far, 0) + 1) as is_item
    from counted as c
    left join brand_replies as o
        on c.is_candidate and c.platform = o.platform and c.thread_id = o.thread_id and o.brand_turn = c.brand_turn
),

answered as (
    select
        s.platform,
        s.comment_id,
        s.brand_turn,
        s.sequenced_at,
        s.is_item,
        r.sequenced_at as first_response_at,
        r.comment_id as first_response_comment_id,
        r.team_member_id as responder_member_id
    from sequenced as s
    left join brand_replies as r
        on s.is_item and s.platform = r.platform and s.thread_id = r.thread_id and r.brand_turn = s.brand_turn + 1
)

-- What an item shows (post, author, channel, text) is stored for items only: the other messages'
-- rows exist to keep the thread whole, not to copy history's texts a second time.
select
    m.platform,
    m.comment_id,
    m.platform || ':' || m.thread_id as thread_key,
    m.thread_id,
    m.is_brand,
    m.team_member_id,
    m.intent,
    m.priority,
    m.is_live,
    a.sequenced_at,
    a.brand_turn,
    coalesce(a.is_item, false) as is_item,
    case when a.is_item then w.post_id end as post_id,
    case when a.is_item then w.author_id end as author_id,
    case when a.is_item then w.channel end as channel,
    case when a.is_item then w.message end as message,
    case when a.is_item then w.created_at end as created_at,
    a.first_response_at,
    a.first_response_comment_id,
    a.responder_member_id,
    w.loaded_at,
    m.enriched_at,
    greatest(w.loaded_at, coalesce(m.enriched_at, w.loaded_at)) as changed_at
from thread_messages as w
inner join messages as m
    on w.platform = m.platform and w.comment_id = m.comment_id
left join answered as a
    on m.platform = a.platform and m.comment_id = a.comment_id
