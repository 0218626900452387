select
    platform,
    account_id,
    nullif(trim(handle), '') as handle,
    nullif(trim(name), '') as account_name,
    _loaded_at as loaded_at
from {{ source('social', 'accounts') }}
