{{ config(
    materialized='incremental',
    unique_key=['platform', 'comment_id'],
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    post_hook=["{% if is_incremental() %}{{ message_keys_filled(this) }}{% endif %}"]
) }}
-- A table kept incrementally, not a view: the SLA and crisis models look messages up by thread and
-- by key every few minutes, and through a view each look-up parsed the timestamps of every message
-- of history (4-7 s a look-up at 10M comments). Each run adds what landed since the last one, less
-- `reload_margin_minutes`; a new version of a message lands with a new `_loaded_at` and replaces its
-- row (delete+insert on the key). Still only renames and casts, and the integer keys of the message,
-- its parent and its thread (message_key in macros/portable.sql: a function of this row alone, so the
-- same on an incremental run and a full refresh, and a reply's parent key needs no look-up of its
-- parent). The delete+insert keeps the text key: a key collision must fail the tests, not delete a row.
select
    platform,
    comment_id,
    {{ message_key('platform', 'comment_id') }} as message_sk,
    nullif(trim(post_id), '') as post_id,
    nullif(trim(parent_id), '') as parent_id,
    {{ message_key('platform', "nullif(trim(parent_id), '')") }} as parent_message_sk,
    -- A comment without a thread id starts its own thread.
    coalesce(nullif(trim(thread_id), ''), nullif(trim(parent_id), ''), comment_id) as thread_id,
    {{ message_key('platform', "coalesce(nullif(trim(thread_id), ''), nullif(trim(parent_id), ''), comment_id)") }}
        as thread_sk,
    author_id,
    author_name,
    {{ parse_ts('created_at') }} as created_at,
    coalesce({{ parse_ts('updated_at') }}, {{ parse_ts('created_at') }}) as updated_at,
    message,
    lower(trim(channel)) as channel,
    cast(nullif(trim(like_count), '') as bigint) as like_count,
    coalesce(lower(trim(is_deleted)) in ('true', '1', 'yes'), false) as is_deleted,
    _loaded_at as loaded_at
from {{ source('social', 'comments') }}
{% if is_incremental() %}
where _loaded_at > (select coalesce(max(loaded_at), cast('1900-01-01' as timestamp)) from {{ this }}) - interval '{{ var('reload_margin_minutes') | int }} minute'
{% endif %}
