-- One row per planned item, plus one row per post nobody planned. A planned item links to its post
-- by post_id (the calendar's own link). Status, with tolerance T = var calendar_tolerance_minutes:
--   on_time    published within T minutes either side of planned_at
--   early      published more than T minutes before planned_at
--   late       published more than T minutes after planned_at
--   missed     not published and planned_at + T is before the evaluation instant
--   pending    not published yet, still within its time
--   unplanned  a post of an account with a calendar, published on or after that calendar's first
--              planned day, that no calendar item points to
{% set tol = var('calendar_tolerance_minutes') %}
with calendar as (
    select * from {{ ref('stg_social__content_calendar') }}
),

posts as (
    select * from {{ ref('fct_post_performance') }}
),

planned as (
    select
        c.planned_id,
        c.platform,
        c.account_id,
        c.topic,
        c.content_type as planned_content_type,
        c.owner_member_id,
        c.planned_at,
        p.post_id,
        p.published_at,
        p.content_type as posted_content_type
    from calendar as c
    left join posts as p on c.platform = p.platform and c.post_id = p.post_id
),

calendar_start as (
    select platform, account_id, min(cast({{ to_local('planned_at') }} as date)) as first_planned_date
    from calendar
    group by platform, account_id
),

unplanned as (
    select
        cast(null as varchar) as planned_id,
        p.platform,
        p.account_id,
        cast(null as varchar) as topic,
        cast(null as varchar) as planned_content_type,
        cast(null as varchar) as owner_member_id,
        cast(null as timestamp) as planned_at,
        p.post_id,
        p.published_at,
        p.content_type as posted_content_type
    from posts as p
    inner join calendar_start as s on p.platform = s.platform and p.account_id = s.account_id
    where p.published_date >= s.first_planned_date
        and not exists (
            select 1 from calendar as c where c.platform = p.platform and c.post_id = p.post_id
        )
),

items as (
    select * from planned
    union all
    select * from unplanned
),

classified as (
    select
        *,
        case when planned_at is not null and published_at is not null
            then {{ dbt.datediff('planned_at', 'published_at', 'minute') }}
        end as delay_minutes,
        case
            when planned_at is null then 'unplanned'
            when published_at is null and planned_at + interval '{{ tol }} minute' < {{ as_of() }} then 'missed'
            when published_at is null then 'pending'
            when published_at > planned_at + interval '{{ tol }} minute' then 'late'
            when published_at < planned_at - interval '{{ tol }} minute' then 'early'
            else 'on_time'
        end as status
    from items
)

select
    coalesce('plan:' || i.planned_id, 'post:' || i.platform || ':' || i.post_id) as calendar_item_key,
    i.planned_id,
    i.platform,
    i.account_id,
    i.platform || ':' || i.account_id as account_key,
    i.post_id,
    i.topic,
    coalesce(i.planned_content_type, i.posted_content_type) as content_type,
    i.owner_member_id,
    i.planned_at,
    {{ to_local('i.planned_at') }} as planned_local,
    cast({{ to_local('i.planned_at') }} as date) as planned_date,
    i.published_at,
    {{ to_local('i.published_at') }} as published_local,
    cast({{ to_local('i.published_at') }} as date) as published_date,
    i.delay_minutes,
    i.status,
    i.status in ('on_time', 'early', 'late') and i.planned_at is not null as is_published,
    p.impressions,
    p.interactions,
    p.engagement_rate,
    p.rank_in_account_month
from classified as i
left join posts as p on i.platform = p.platform and i.post_id = p.post_id
