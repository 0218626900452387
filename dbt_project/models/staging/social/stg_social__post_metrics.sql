select
    platform,
    post_id,
    {{ parse_ts('captured_at') }} as captured_at,
    cast(impressions as bigint) as impressions,
    cast(reach as bigint) as reach,
    cast(reactions as bigint) as reactions,
    cast(comments as bigint) as comments,
    cast(shares as bigint) as shares,
    cast(saves as bigint) as saves,
    cast(clicks as bigint) as clicks,
    cast(video_views as bigint) as video_views,
    _loaded_at as loaded_at
from {{ source('social', 'post_metrics') }}
