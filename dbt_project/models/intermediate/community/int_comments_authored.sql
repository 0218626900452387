{{ config(materialized="view") }}
-- A view, not a table: the author classification follows the brand accounts and team handles as
-- configured now, and the parsing it reads is already stored (stg_social__comments is a table).

-- Every message with who wrote it: one of the brand's accounts, a team member, or a member of the
-- community. The brand speaking is what answers members; everything else is member activity.
with brand_accounts as (
    select platform, account_id as author_id from {{ ref('stg_config__brand_accounts') }}
    union
    select platform, account_id from {{ ref('stg_social__accounts') }}
),

team as (
    -- a handle listed for two members counts once, for the first member id
    select platform, author_id, min(member_id) as member_id
    from {{ ref('int_team_handles') }}
    group by platform, author_id
)

select
    c.*,
    t.member_id as team_member_id,
    case
        when t.member_id is not null then 'team'
        when b.author_id is not null then 'brand_account'
        else 'member'
    end as author_kind,
    (t.member_id is not null or b.author_id is not null) as is_brand
from {{ ref('stg_social__comments') }} as c
left join brand_accounts as b
    on c.platform = b.platform and c.author_id = b.author_id
left join team as t
    on c.platform = t.platform and c.author_id = t.author_id
