-- One row per post: its metrics at the latest snapshot and at 24 hours and 7 days
-- (int_post_snapshots_at_ages), the sentiment of the member comments under it
-- (int_post_comment_sentiment), and engagement rates with the post's local publishing slot.
with posts as (
    select * from {{ ref('stg_social__posts') }}
),

snapshots as (
    select * from {{ ref('int_post_snapshots_at_ages') }}
),

sentiment as (
    select * from {{ ref('int_post_comment_sentiment') }}
),

measured as (
    select
        p.platform,
        p.post_id,
        p.account_id,
        p.published_at,
        {{ to_local('p.published_at') }} as published_local,
        p.content_type,
        p.campaign,
        p.permalink,
        m.last_captured_at,
        m.impressions,
        m.reach,
        m.reactions,
        m.comments,
        m.shares,
        m.saves,
        m.clicks,
        m.video_views,
        m.interactions,
        m.impressions_24h,
        m.interactions_24h,
        m.impressions_7d,
        m.interactions_7d,
        coalesce(s.member_comments, 0) as member_comments,
        coalesce(s.enriched_comments, 0) as enriched_comments,
        s.avg_sentiment_score,
        coalesce(s.positive_comments, 0) as positive_comments,
        coalesce(s.negative_comments, 0) as negative_comments
    from posts as p
    left join snapshots as m on p.platform = m.platform and p.post_id = m.post_id
    left join sentiment as s on p.platform = s.platform and p.post_id = s.post_id
),

rated as (
    select
        *,
        cast(published_local as date) as published_date,
        cast(date_trunc('month', published_local) as date) as published_month,
        cast(extract(isodow from published_local) as bigint) as published_weekday,
        {{ weekday_name('published_local') }} as published_weekday_name,
        cast(extract(hour from published_local) as bigint) as published_hour,
        case when impressions > 0 then cast(interactions as double precision) / impressions end as engagement_rate,
        case when impressions_24h > 0 then cast(interactions_24h as double precision) / impressions_24h end
            as engagement_rate_24h,
        case when impressions_7d > 0 then cast(interactions_7d as double precision) / impressions_7d end
            as engagement_rate_7d
    from measured
)

select
    platform || ':' || post_id as post_key,
    platform || ':' || account_id as account_key,
    platform,
    post_id,
    account_id,
    published_at,
    published_local,
    published_date,
    published_month,
    published_weekday,
    published_weekday_name,
    published_hour,
    content_type,
    campaign,
    permalink,
    last_captured_at,
    impressions,
    reach,
    reactions,
    comments,
    shares,
    saves,
    clicks,
    video_views,
    interactions,
    engagement_rate,
    impressions_24h,
    interactions_24h,
    engagement_rate_24h,
    impressions_7d,
    interactions_7d,
    engagement_rate_7d,
    rank() over (
        partition by platform, account_id, published_month
        order by engagement_rate desc nulls last
    ) as rank_in_account_month,
    member_comments,
    enriched_comments,
    avg_sentiment_score,
    positive_comments,
    negative_comments,
    case when enriched_comments > 0 then cast(negative_comments as double precision) / enriched_comments end
        as negative_comment_share
from rated
