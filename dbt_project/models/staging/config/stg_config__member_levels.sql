select
    love_window_days,
    participant_min,
    fan_min,
    ambassador_min,
    churn_risk_days
from {{ source('community_config', 'member_levels') }}
