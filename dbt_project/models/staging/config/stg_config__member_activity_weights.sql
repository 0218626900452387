select
    lower(channel) as channel,
    weight
from {{ source('community_config', 'member_activity_weights') }}
