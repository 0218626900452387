-- One row per post with at least one metrics snapshot: its lifetime metrics from the latest snapshot,
-- and the 24-hour and 7-day values from the latest snapshot taken no later than that long after
-- publishing (null when no snapshot was taken by then, so a young post or a late first capture is
-- not mistaken for a weak post).
with posts as (
    select * from {{ ref('stg_social__posts') }}
),

post_metrics as (
    select * from {{ ref('stg_social__post_metrics') }}
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
    from post_metrics as m
    inner join posts as p on m.platform = p.platform and m.post_id = p.post_id
),

latest as (
    select * from (
        select *, row_number() over (partition by platform, post_id order by captured_at desc) as snapshot_rank
        from snapshots
    ) as ranked
    where snapshot_rank = 1
),

{#- the latest snapshot taken no later than each age after publishing -#}
{%- for age, span in [('24h', '24 hour'), ('7d', '7 day')] %}
at_{{ age }} as (
    select platform, post_id, impressions, interactions from (
        select *, row_number() over (partition by platform, post_id order by captured_at desc) as snapshot_rank
        from snapshots
        where captured_at <= published_at + interval '{{ span }}'
    ) as ranked
    where snapshot_rank = 1
){{ ',' if not loop.last }}
{% endfor %}
select
    l.platform,
    l.post_id,
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
    d7.interactions as interactions_7d
from latest as l
left join at_24h as d1 on l.platform = d1.platform and l.post_id = d1.post_id
left join at_7d as d7 on l.platform = d7.platform and l.post_id = d7.post_id
