{{ config(materialized='incremental', unique_key='hour_key', incremental_strategy='delete+insert') }}
-- Inbound messages per account and UTC hour (and per hour for the whole community, platform and
-- account 'all'): volume, negatives, messages with a crisis keyword, the keywords seen. Hours with
-- no message have no row (fct_crisis_signals fills them with zeros). Incremental: only the hours
-- holding a message that changed since the last build are recomputed.

with changed_hours as (
    select distinct hour_at
    from {{ ref('int_crisis_comments') }}
    {% if is_incremental() %}
    -- coalesce: after a build that saw no message, max() is null and nothing would compare greater
    where changed_at > (select coalesce(max(changed_at), timestamp '1900-01-01') from {{ this }}) - interval '1 hour'
    {% endif %}
),

comments as (
    select c.*
    from {{ ref('int_crisis_comments') }} as c
    {% if is_incremental() %}
    where c.hour_at in (select hour_at from changed_hours)
    {% endif %}
),

keyword_hits as (
    select platform, account_id, hour_at, trim(k) as keyword
    from comments, {{ split_to_rows('keywords', "','") }} as t(k)
    where keywords is not null
),

per_account as (
    select
        platform,
        account_id,
        hour_at,
        count(*) as inbound_count,
        count(*) filter (where is_negative) as negative_count,
        count(*) filter (where keywords is not null) as keyword_count,
        max(changed_at) as changed_at
    from comments
    group by platform, account_id, hour_at
),

keywords_per_account as (
    select platform, account_id, hour_at, string_agg(distinct keyword, ',' order by keyword) as keywords_seen
    from keyword_hits
    group by platform, account_id, hour_at
),

overall as (
    select
        'all' as platform,
        'all' as account_id,
        hour_at,
        sum(inbound_count) as inbound_count,
        sum(negative_count) as negative_count,
        sum(keyword_count) as keyword_count,
        max(changed_at) as changed_at
    from per_account
    group by hour_at
),

keywords_overall as (
    select hour_at, string_agg(distinct keyword, ',' order by keyword) as keywords_seen
    from keyword_hits
    group by hour_at
),

unioned as (
    select a.*, k.keywords_seen
    from per_account as a
    left join keywords_per_account as k using (platform, account_id, hour_at)
    union all
    select o.*, k.keywords_seen
    from overall as o
    left join keywords_overall as k using (hour_at)
)

select
    platform || ':' || account_id || ':' || {{ hour_key('hour_at') }} as hour_key,
    platform,
    account_id,
    hour_at,
    inbound_count,
    negative_count,
    keyword_count,
    keywords_seen,
    changed_at
from unioned
