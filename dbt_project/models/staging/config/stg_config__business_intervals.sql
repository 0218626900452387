select
    local_date,
    open_at,
    close_at
from {{ source('community_config', 'business_intervals') }}
