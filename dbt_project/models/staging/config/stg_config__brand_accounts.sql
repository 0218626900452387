select
    platform,
    account_id,
    handle,
    account_name,
    owner_member_id
from {{ source('community_config', 'brand_accounts') }}
