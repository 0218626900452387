select
    policy_version,
    valid_from,
    valid_to,
    position,
    policy_name,
    target_minutes,
    is_business_time
from {{ source('community_config', 'sla_policies') }}
