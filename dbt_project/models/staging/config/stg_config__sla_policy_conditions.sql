select
    policy_version,
    policy_name,
    field,
    value
from {{ source('community_config', 'sla_policy_conditions') }}
