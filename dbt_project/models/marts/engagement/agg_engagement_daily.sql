-- One row per account and local day. Account-level followers, impressions and reach are the
-- platform's daily values (never summed across days here: reach counts unique people, so a week's
-- reach is not the sum of its days). Interactions and post impressions are the sum of the day's
-- deltas of each post's lifetime counters. Engagement rate is a ratio of sums: the day's
-- interactions over the same posts' impressions, so any roll-up must sum both and divide again.
with account_days as (
    select platform, account_id, metric_date, followers, impressions, reach
    from {{ ref('stg_social__account_metrics') }}
),

post_days as (
    select
        platform,
        account_id,
        metric_date,
        cast(sum(coalesce(impressions_delta, 0)) as bigint) as post_impressions,
        cast(sum(coalesce(reactions_delta, 0)) as bigint) as reactions,
        cast(sum(coalesce(comments_delta, 0)) as bigint) as comments,
        cast(sum(coalesce(shares_delta, 0)) as bigint) as shares,
        cast(sum(coalesce(saves_delta, 0)) as bigint) as saves,
        cast(sum(coalesce(clicks_delta, 0)) as bigint) as clicks,
        cast(sum(coalesce(video_views_delta, 0)) as bigint) as video_views
    from {{ ref('int_post_metrics_daily') }}
    group by platform, account_id, metric_date
),

published as (
    select
        platform,
        account_id,
        cast({{ to_local('published_at') }} as date) as metric_date,
        count(*) as posts_published
    from {{ ref('stg_social__posts') }}
    group by 1, 2, 3
),

spine as (
    select platform, account_id, metric_date from account_days
    union
    select platform, account_id, metric_date from post_days
    union
    select platform, account_id, metric_date from published
),

joined as (
    select
        s.platform,
        s.account_id,
        s.metric_date,
        a.followers,
        a.followers - prev.followers as net_follower_change,
        a.impressions,
        a.reach,
        coalesce(p.post_impressions, 0) as post_impressions,
        coalesce(p.reactions, 0) as reactions,
        coalesce(p.comments, 0) as comments,
        coalesce(p.shares, 0) as shares,
        coalesce(p.saves, 0) as saves,
        coalesce(p.clicks, 0) as clicks,
        coalesce(p.video_views, 0) as video_views,
        coalesce(pub.posts_published, 0) as posts_published
    from spine as s
    left join account_days as a
        on s.platform = a.platform and s.account_id = a.account_id and s.metric_date = a.metric_date
    -- the change is against the previous calendar day only: after a gap it is unknown, not the gap's total
    left join account_days as prev
        on s.platform = prev.platform and s.account_id = prev.account_id
        and prev.metric_date = s.metric_date - interval '1 day'
    left join post_days as p
        on s.platform = p.platform and s.account_id = p.account_id and s.metric_date = p.metric_date
    left join published as pub
        on s.platform = pub.platform and s.account_id = pub.account_id and s.metric_date = pub.metric_date
)

select
    platform || ':' || account_id || ':' || cast(metric_date as varchar) as engagement_day_key,
    platform || ':' || account_id as account_key,
    platform,
    account_id,
    metric_date,
    followers,
    net_follower_change,
    impressions,
    reach,
    post_impressions,
    reactions,
    comments,
    shares,
    saves,
    clicks,
    video_views,
    reactions + comments + shares + saves + clicks as interactions,
    posts_published,
    -- A day's counters are deltas of lifetime snapshots: on a day with a handful of impressions the
    -- interactions of older posts can outnumber them (17 on 1 in the sample). Such a ratio is noise, so
    -- the rate is left empty below a minimum; sums over longer periods still count every interaction.
    case
        when post_impressions >= {{ var('engagement_rate_min_impressions') }}
            then cast(reactions + comments + shares + saves + clicks as double precision) / post_impressions
    end as engagement_rate
from joined
