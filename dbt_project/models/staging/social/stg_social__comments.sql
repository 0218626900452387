select
    platform,
    comment_id,
    nullif(trim(post_id), '') as post_id,
    nullif(trim(parent_id), '') as parent_id,
    -- A comment without a thread id starts its own thread.
    coalesce(nullif(trim(thread_id), ''), nullif(trim(parent_id), ''), comment_id) as thread_id,
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
