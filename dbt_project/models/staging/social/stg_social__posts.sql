select
    platform,
    post_id,
    account_id,
    {{ parse_ts('published_at') }} as published_at,
    message,
    coalesce(nullif(lower(trim(content_type)), ''), 'unknown') as content_type,
    nullif(trim(permalink), '') as permalink,
    nullif(trim(campaign), '') as campaign,
    _loaded_at as loaded_at
from {{ source('social', 'posts') }}
