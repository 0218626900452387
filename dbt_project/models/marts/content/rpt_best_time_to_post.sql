-- Posting slots (account × local weekday × hour) with the posts published in them and their median
-- engagement rate. The rate of a post is its 7-day rate when a snapshot exists by then, else its
-- lifetime rate, so young posts still count. `posts` is shown beside the median and `is_thin_sample`
-- flags cells below the var best_time_min_posts: one lucky post is not a finding.
select
    platform || ':' || account_id || ':' || cast(published_weekday as varchar) || ':'
        || cast(published_hour as varchar) as slot_key,
    platform || ':' || account_id as account_key,
    platform,
    account_id,
    published_weekday,
    min(published_weekday_name) as published_weekday_name,
    published_hour,
    count(*) as posts,
    count(coalesce(engagement_rate_7d, engagement_rate)) as rated_posts,
    {{ median('coalesce(engagement_rate_7d, engagement_rate)') }} as median_engagement_rate,
    cast(sum(interactions) as bigint) as interactions,
    cast(sum(impressions) as bigint) as impressions,
    case when sum(impressions) > 0 then cast(sum(interactions) as double precision) / sum(impressions) end
        as pooled_engagement_rate,
    count(coalesce(engagement_rate_7d, engagement_rate)) < {{ var('best_time_min_posts') }} as is_thin_sample
from {{ ref('fct_post_performance') }}
group by platform, account_id, published_weekday, published_hour
