-- One row per post. Lifetime metrics come from the latest snapshot; the 24-hour and 7-day values from
-- the latest snapshot taken no later than that long after publishing (null when no snapshot was taken
-- by then, so a young post or a late first capture is not mistaken for a weak post).
with posts as (
    select * from {{ ref('stg_social__posts') }}
),

snapshots as (
    select
        m.platform,
        m.post_id,
        m.captured_at,
        m.impressions,
        m.reach,
        m.reactions,
        m.comments,
        m.shares,
        m.saves,
        m.clicks,
        m.video_views,
        coalesce(m.reactions, 0) + coalesce(m.comments, 0) + coalesce(m.shares, 0)
            + coalesce(m.saves, 0) + coalesce(m.clicks, 0) as interactions,
        p.published_at
    from {{ ref('stg_social__post_metrics') }} as m
    inner join posts as p on m.platform = p.platform and m.post_id = p.post_id
),

latest as (
    select * from (
        select *, row_number() over (partition by platform, post_id order by captured_at desc) as snapshot_rank
        from snapshots
    ) as ranked
    where snapshot_rank = 1
),

at_24h as (
    select platform, post_id, impressions, interactions from (
        select *, row_number() over (partition by platform, post_id order by captured_at desc) as snapshot_rank
        from snapshots
        where captured_at <= published_at + interval '24 hour'
    ) as ranked
    where snapshot_rank = 1
),

at_7d as (
    select platform, post_id, impressions, interactions from (
        select *, row_number() over (partition by platform, post_id order by captured_at desc) as snapshot_rank
        from snapshots
        where captured_at <= published_at + interval '7 day'
    ) as ranked
    where snapshot_rank = 1
),

sentiment as (
    select
        platform,
        post_id,
        count(*) filter (where not is_spam) as member_comments,
        count(sentiment_score) filter (where not is_spam) as enriched_comments,
        avg(sentiment_score) filter (where not is_spam) as avg_sentiment_score,
        count(*) filter (where not is_spam and sentiment_label = 'positive') as positive_comments,
        count(*) filter (where not is_spam and sentiment_label = 'negative') as negative_comments
    from {{ ref('int_member_messages') }}
    where post_id is not null
    group by platform, post_id
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
        l.captured_at as last_captured_at,
        l.impressions,
        l.reach,
        l.reactions,
        l.comments,
        l.shares,
        l.saves,
        l.clicks,
        l.video_views,
        l.interactions,
        d1.impressions as impressions_24h,
        d1.interactions as interactions_24h,
        d7.impressions as impressions_7d,
        d7.interactions as interactions_7d,
        coalesce(s.member_comments, 0) as member_comments,
        coalesce(s.enriched_comments, 0) as enriched_comments,
        s.avg_sentiment_score,
        coalesce(s.positive_comments, 0) as positive_comments,
        coalesce(s.negative_comments, 0) as negative_comments
    from posts as p
    left join latest as l on p.platform = l.platform and p.post_id = l.post_id
    left join at_24h as d1 on p.platform = d1.platform and p.post_id = d1.post_id
    left join at_7d as d7 on p.platform = d7.platform and p.post_id = d7.post_id
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
