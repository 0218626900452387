-- Post counters are lifetime totals at each capture. One row per post and local day with the day's
-- last snapshot and the change since the previous day's last snapshot: the delta is what the post
-- earned that day, so summing deltas per account and day never double-counts a post. The first
-- snapshot's delta is the whole lifetime value (a post starts at zero when published). A platform
-- correcting a counter downwards gives a negative delta, kept so deltas always add up to the
-- latest lifetime value. Reach is unique people: it has no daily delta and is only kept as a lifetime value.
with snapshots as (
    select
        m.*,
        p.account_id,
        cast({{ to_local('m.captured_at') }} as date) as metric_date,
        row_number() over (
            partition by m.platform, m.post_id, cast({{ to_local('m.captured_at') }} as date)
            order by m.captured_at desc
        ) as rn_in_day
    from {{ ref('stg_social__post_metrics') }} as m
    inner join {{ ref('stg_social__posts') }} as p
        on m.platform = p.platform and m.post_id = p.post_id
),

last_of_day as (
    select * from snapshots where rn_in_day = 1
)

select
    platform,
    post_id,
    account_id,
    metric_date,
    captured_at,
    {%- for m in ['impressions', 'reactions', 'comments', 'shares', 'saves', 'clicks', 'video_views'] %}
    {{ m }} as lifetime_{{ m }},
    {{ m }} - coalesce(lag({{ m }}) over (partition by platform, post_id order by metric_date), 0) as {{ m }}_delta,
    {%- endfor %}
    reach as lifetime_reach
from last_of_day
