-- The most active and the most helpful members of each local month, for "recognise and reward".
-- Most active: highest activity score that month (same weights as dim_members). Most helpful: most
-- replies to other members' messages, ties broken by likes on those replies. A member is listed when
-- in the top N (var top_contributors_per_month) of either ranking; spam never counts.
{% set top_n = var('top_contributors_per_month') %}
with monthly as (
    select
        cast(date_trunc('month', created_date) as date) as month_start_date,
        platform,
        author_id,
        member_key,
        {{ arg_max('author_name', 'created_at') }} as member_name,
        count(*) as messages,
        sum(activity_weight) as activity_score,
        count(*) filter (where is_reply_to_other_member) as helpful_replies,
        cast(sum(like_count) filter (where is_reply_to_other_member) as bigint) as helpful_reply_likes,
        cast(sum(like_count) as bigint) as likes_received,
        cast(sum(replies_received) as bigint) as replies_received
    from {{ ref('int_member_messages') }}
    where not is_spam
    group by 1, 2, 3, 4
),

ranked as (
    select
        *,
        rank() over (partition by month_start_date order by activity_score desc, messages desc) as activity_rank,
        case when helpful_replies > 0 then rank() over (
            partition by month_start_date, helpful_replies > 0
            order by helpful_replies desc, coalesce(helpful_reply_likes, 0) desc
        ) end as helpful_rank
    from monthly
)

select
    cast(month_start_date as varchar) || ':' || member_key as contributor_month_key,
    month_start_date,
    member_key,
    platform,
    author_id,
    member_name,
    messages,
    activity_score,
    helpful_replies,
    coalesce(helpful_reply_likes, 0) as helpful_reply_likes,
    likes_received,
    replies_received,
    activity_rank,
    helpful_rank,
    activity_rank <= {{ top_n }} as is_most_active,
    coalesce(helpful_rank <= {{ top_n }}, false) as is_most_helpful
from ranked
where activity_rank <= {{ top_n }} or helpful_rank <= {{ top_n }}
