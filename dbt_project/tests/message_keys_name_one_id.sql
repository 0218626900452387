{#- The integer keys of stg_social__comments (message_sk, parent_message_sk, thread_sk) are hashes of
    the text ids (macros/portable.sql, message_key), joined as if they were the ids. Two different ids
    sharing a key would join one message's reply to another message, or sort two threads as one,
    silently: this test fails the build instead (a 64-bit hash makes it about a one-in-30,000 event at
    40M ids). A row returned is such a key with two of its ids. What to do: report it as a bug (the key
    needs a wider hash); the rows built from these messages are wrong until then.
    (unique on message_sk is tested apart: it also finds a message landed twice.) -#}
with ids as (
    select c.message_sk as sk, c.platform, c.comment_id as id
    from {{ ref('stg_social__comments') }} as c
    union all
    select c.parent_message_sk as sk, c.platform, c.parent_id as id
    from {{ ref('stg_social__comments') }} as c
    where c.parent_id is not null
    union all
    select c.thread_sk as sk, c.platform, c.thread_id as id
    from {{ ref('stg_social__comments') }} as c
),

distinct_ids as (
    select i.sk, i.platform, i.id
    from ids as i
    group by i.sk, i.platform, i.id
)

select d.sk, min(d.platform || ':' || d.id) as one_id, max(d.platform || ':' || d.id) as other_id
from distinct_ids as d
group by d.sk
having count(*) > 1
