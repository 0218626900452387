select
    goal_id,
    goal_name,
    metric,
    target,
    period,
    direction,
    platform,
    account_id
from {{ source('community_config', 'goals') }}
