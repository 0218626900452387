select
    member_id,
    name as member_name,
    nullif(trim(email), '') as email,
    nullif(trim(slack_user_id), '') as slack_user_id,
    nullif(trim(handles), '') as handles,
    nullif(trim(role), '') as role,
    _loaded_at as loaded_at
from {{ source('social', 'team') }}
