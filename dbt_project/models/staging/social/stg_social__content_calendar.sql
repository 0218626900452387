select
    planned_id,
    platform,
    account_id,
    {{ parse_ts('planned_at') }} as planned_at,
    topic,
    coalesce(nullif(lower(trim(content_type)), ''), 'unknown') as content_type,
    nullif(trim(owner), '') as owner_member_id,
    nullif(trim(post_id), '') as post_id,
    _loaded_at as loaded_at
from {{ source('social', 'content_calendar') }}
