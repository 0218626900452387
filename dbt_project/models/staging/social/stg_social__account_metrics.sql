select
    platform,
    account_id,
    cast("date" as date) as metric_date,
    cast(followers as bigint) as followers,
    cast(impressions as bigint) as impressions,
    cast(reach as bigint) as reach,
    _loaded_at as loaded_at
from {{ source('social', 'account_metrics') }}
