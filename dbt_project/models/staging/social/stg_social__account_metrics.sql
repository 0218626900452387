-- A blank counter is unknown (NULL), as comments.like_count; every other value that lands casts:
-- the importer quarantines what would not (docs/bundle-format.md, Kinds).
select
    platform,
    account_id,
    cast("date" as date) as metric_date,
    cast(nullif(trim(followers), '') as bigint) as followers,
    cast(nullif(trim(impressions), '') as bigint) as impressions,
    cast(nullif(trim(reach), '') as bigint) as reach,
    _loaded_at as loaded_at
from {{ source('social', 'account_metrics') }}
