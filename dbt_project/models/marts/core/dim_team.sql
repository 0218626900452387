-- One row per team member, with the accounts they own, so that owner and responder ids in the other
-- marts (owner_member_id, responder_member_id) read as names. Team members are staff, not community
-- members: their ids and names are published as they are (the publishing step pseudonymises members only).
with team as (
    select * from {{ ref('stg_social__team') }}
),

configured as (
    select * from {{ ref('stg_config__brand_accounts') }}
),

owned as (
    select
        owner_member_id,
        count(*) as accounts_owned,
        {{ dbt.listagg("platform || ':' || account_id", "', '", "order by platform, account_id") }} as owned_account_keys
    from configured
    where owner_member_id is not null
    group by owner_member_id
)

select
    t.member_id as team_member_id,
    t.member_name as display_name,
    t.role,
    t.slack_user_id,
    t.handles,
    coalesce(o.accounts_owned, 0) as accounts_owned,
    o.owned_account_keys
from team as t
left join owned as o on t.member_id = o.owner_member_id
