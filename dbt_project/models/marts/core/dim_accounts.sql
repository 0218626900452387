-- One row per brand account: what community.yml configures, completed by what the bundle's accounts
-- export says (handle and display name), with the owner's name so dashboards show people, not ids.
-- An account present only in the export (not configured) is kept: its comments are in the marts too.
-- So is an account that only posts or daily metrics name (an export holding one more account than the
-- accounts file lists): every account a mart shows has its row here, without a name.
with configured as (
    select * from {{ ref('stg_config__brand_accounts') }}
),

accounts_export as (
    select * from {{ ref('stg_social__accounts') }}
),

posts as (
    select * from {{ ref('stg_social__posts') }}
),

account_metrics as (
    select * from {{ ref('stg_social__account_metrics') }}
),

named_elsewhere as (
    select p.platform, p.account_id from posts as p where p.account_id is not null
    union
    select m.platform, m.account_id from account_metrics as m where m.account_id is not null
),

exported as (
    select ae.platform, ae.account_id, ae.handle, ae.account_name
    from accounts_export as ae
    union all
    select
        ne.platform,
        ne.account_id,
        cast(null as {{ dbt.type_string() }}) as handle,
        cast(null as {{ dbt.type_string() }}) as account_name
    from named_elsewhere as ne
    where not exists (
        select 1 from accounts_export as ae
        where ae.platform = ne.platform and ae.account_id = ne.account_id
    )
),

team as (
    select * from {{ ref('stg_social__team') }}
),

accounts as (
    select
        coalesce(c.platform, e.platform) as platform,
        coalesce(c.account_id, e.account_id) as account_id,
        coalesce(c.handle, e.handle) as handle,
        coalesce(c.account_name, e.account_name) as account_name,
        c.owner_member_id,
        c.account_id is not null as is_configured
    from configured as c
    full outer join exported as e
        on c.platform = e.platform and c.account_id = e.account_id
)

select
    a.platform || ':' || a.account_id as account_key,
    a.platform,
    a.account_id,
    a.handle,
    a.account_name,
    a.owner_member_id,
    t.member_name as owner_name,
    t.slack_user_id as owner_slack_user_id,
    a.is_configured
from accounts as a
left join team as t on a.owner_member_id = t.member_id
