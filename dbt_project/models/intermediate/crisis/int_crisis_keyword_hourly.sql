{{ config(
    materialized='incremental',
    unique_key='keyword_hour_key',
    incremental_strategy='delete+insert',
    pre_hook=["{% if is_incremental() %}delete from {{ this }} where hour_at in (select hour_at from {{ ref('int_crisis_comments') }} where changed_at > (select coalesce(max(changed_at), timestamp '1900-01-01') from {{ this }}) - interval '1 hour'){% endif %}"]
) }}
-- Crisis keyword hits per account and UTC hour (and per hour for the whole community, platform and
-- account 'all'): what fct_crisis_incidents ranks an incident's top keywords from, so it reads hours,
-- not every message of history. Incremental like int_crisis_hourly; the pre-hook first clears the
-- hours being recomputed, so a keyword that a re-scored message no longer carries leaves no row.

with changed_hours as (
    select distinct hour_at
    from {{ ref('int_crisis_comments') }}
    {% if is_incremental() %}
    where changed_at > (select coalesce(max(changed_at), timestamp '1900-01-01') from {{ this }}) - interval '1 hour'
    {% endif %}
),

hits as (
    select c.platform, c.account_id, c.hour_at, trim(t.k) as keyword, c.changed_at
    from {{ ref('int_crisis_comments') }} as c, {{ split_to_rows('c.keywords', "','") }} as t(k)
    where c.keywords is not null
    {% if is_incremental() %}
        and c.hour_at in (select hour_at from changed_hours)
    {% endif %}
),

per_account as (
    select platform, account_id, hour_at, keyword, count(*) as hits, max(changed_at) as changed_at
    from hits
    where keyword <> ''
    group by platform, account_id, hour_at, keyword
),

overall as (
    select 'all' as platform, 'all' as account_id, hour_at, keyword, sum(hits) as hits, max(changed_at) as changed_at
    from per_account
    group by hour_at, keyword
),

unioned as (
    select * from per_account
    union all
    select * from overall
)

select
    platform || ':' || account_id || ':' || {{ hour_key('hour_at') }} || ':' || keyword as keyword_hour_key,
    platform,
    account_id,
    hour_at,
    keyword,
    hits,
    changed_at
from unioned
