-- One row per community member per platform (author_kind = member). Activity level follows the Orbit
-- model: "love" is the weighted count of the member's messages in the last love_window_days, and
-- thresholds from members.levels turn it into observer / participant / fan / ambassador. Spam never
-- counts. Lifecycle flags, with W = churn_risk_days and L = love_window_days:
--   new        first seen within the last W days
--   returning  seen before that and active again within the last W days
--   at risk    active within the last L days but silent for the last W days
with levels as (
    select * from {{ ref('stg_config__member_levels') }}
),

messages as (
    select * from {{ ref('int_member_messages') }}
),

per_member as (
    select
        m.platform,
        m.author_id,
        m.member_key,
        {{ arg_max('m.author_name', 'm.created_at') }} as member_name,
        -- a spammer's messages say nothing about when they take part: seen = first/last non-spam message,
        -- falling back to any message for authors who only ever sent spam
        coalesce(min(m.created_at) filter (where not m.is_spam), min(m.created_at)) as first_seen_at,
        coalesce(max(m.created_at) filter (where not m.is_spam), max(m.created_at)) as last_seen_at,
        count(*) filter (where not m.is_spam) as messages,
        count(*) filter (where not m.is_spam and m.channel = 'comment') as comments,
        count(*) filter (where not m.is_spam and m.channel = 'reply') as replies,
        count(*) filter (where not m.is_spam and m.channel = 'mention') as mentions,
        count(*) filter (where not m.is_spam and m.channel = 'dm') as direct_messages,
        count(*) filter (where not m.is_spam and m.channel = 'review') as reviews,
        count(*) filter (where m.is_spam) as spam_messages,
        cast(sum(m.replies_received) filter (where not m.is_spam) as bigint) as replies_received,
        cast(sum(m.brand_replies_received) filter (where not m.is_spam) as bigint) as brand_replies_received,
        count(*) filter (where not m.is_spam and m.is_reply_to_other_member) as replies_to_members,
        cast(sum(m.like_count) filter (where not m.is_spam) as bigint) as likes_received,
        avg(m.sentiment_score) filter (where not m.is_spam) as avg_sentiment_score,
        sum(m.activity_weight) filter (where not m.is_spam) as lifetime_activity_score,
        sum(m.activity_weight) filter (
            where not m.is_spam and m.created_at > {{ as_of() }} - l.love_window_days * interval '1 day'
        ) as activity_score
    from messages as m
    cross join levels as l
    group by m.platform, m.author_id, m.member_key
)

select
    p.member_key,
    p.platform,
    p.author_id,
    p.member_name,
    p.first_seen_at,
    p.last_seen_at,
    cast({{ to_local('p.first_seen_at') }} as date) as first_seen_date,
    cast({{ to_local('p.last_seen_at') }} as date) as last_seen_date,
    p.messages,
    p.comments,
    p.replies,
    p.mentions,
    p.direct_messages,
    p.reviews,
    p.spam_messages,
    coalesce(p.replies_received, 0) as replies_received,
    coalesce(p.brand_replies_received, 0) as brand_replies_received,
    p.replies_to_members,
    coalesce(p.likes_received, 0) as likes_received,
    p.avg_sentiment_score,
    coalesce(p.lifetime_activity_score, 0) as lifetime_activity_score,
    coalesce(p.activity_score, 0) as activity_score,
    case
        when coalesce(p.activity_score, 0) >= l.ambassador_min then 'ambassador'
        when coalesce(p.activity_score, 0) >= l.fan_min then 'fan'
        when coalesce(p.activity_score, 0) >= l.participant_min then 'participant'
        else 'observer'
    end as activity_level,
    -- lifecycle flags need at least one real (non-spam) message
    p.messages > 0 and p.first_seen_at > {{ as_of() }} - l.churn_risk_days * interval '1 day' as is_new,
    p.messages > 0 and p.first_seen_at <= {{ as_of() }} - l.churn_risk_days * interval '1 day'
        and p.last_seen_at > {{ as_of() }} - l.churn_risk_days * interval '1 day' as is_returning,
    p.messages > 0 and p.last_seen_at <= {{ as_of() }} - l.churn_risk_days * interval '1 day'
        and p.last_seen_at > {{ as_of() }} - l.love_window_days * interval '1 day' as is_at_risk
from per_member as p
cross join levels as l
