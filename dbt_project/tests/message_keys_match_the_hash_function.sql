{#- stg_social__comments is kept incrementally, so its stored keys were computed by the hash function of
    the engine version that landed each row, while the enrichment view and every new row use today's.
    DuckDB does not promise `hash()` gives the same values across releases: after an upgrade that
    changed it, old and new rows would stop joining, silently. A row returned is a message whose stored
    key is not today's. What to do: rebuild with `--full-refresh` (every key computed again). -#}
select
    c.platform,
    c.comment_id,
    c.message_sk,
    c.parent_message_sk,
    c.thread_sk,
    -- in each failing row, so the build's error (which shows the first rows) says what to do
    'stored keys are not this engine''s hash: run tertulia build --full-refresh' as what_to_do
from {{ ref('stg_social__comments') }} as c
where c.message_sk is distinct from {{ message_key('c.platform', 'c.comment_id') }}
    or c.parent_message_sk is distinct from {{ message_key('c.platform', 'c.parent_id') }}
    or c.thread_sk is distinct from {{ message_key('c.platform', 'c.thread_id') }}
