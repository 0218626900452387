-- A blank counter is unknown (NULL), as comments.like_count; every other value that lands casts:
-- the importer quarantines what would not (docs/bundle-format.md, Kinds).
select
    platform,
    post_id,
    {{ parse_ts('captured_at') }} as captured_at,
    cast(nullif(trim(impressions), '') as bigint) as impressions,
    cast(nullif(trim(reach), '') as bigint) as reach,
    cast(nullif(trim(reactions), '') as bigint) as reactions,
    cast(nullif(trim(comments), '') as bigint) as comments,
    cast(nullif(trim(shares), '') as bigint) as shares,
    cast(nullif(trim(saves), '') as bigint) as saves,
    cast(nullif(trim(clicks), '') as bigint) as clicks,
    cast(nullif(trim(video_views), '') as bigint) as video_views,
    _loaded_at as loaded_at
from {{ source('social', 'post_metrics') }}
