-- One row per goal period (int_goal_periods): the goal's metric over the period and what it rests on.
-- Metric definitions are in docs/metrics.md. Engagement and posts sum the period's days; follower
-- growth compares the last followers of the period with the last before it; SLA-based goals read
-- fct_sla_events by local arrival date. fct_goal_progress judges these against the targets.
with goals as (
    select * from {{ ref('stg_config__goals') }}
),

periods as (
    select * from {{ ref('int_goal_periods') }}
),

engagement as (
    select * from {{ ref('agg_engagement_daily') }}
),

sla as (
    select
        platform,
        account_id,
        cast({{ to_local('arrived_at') }} as date) as arrived_date,
        status,
        first_response_at,
        business_minutes_to_respond
    from {{ ref('fct_sla_events') }}
),

scoped_engagement as (
    select p.goal_id, p.period_start_date, p.period_end_date, g.metric, e.*
    from periods as p
    inner join goals as g on p.goal_id = g.goal_id
    inner join engagement as e
        on (g.platform is null or e.platform = g.platform)
        and (g.account_id is null or e.account_id = g.account_id)
        and e.metric_date <= p.period_end_date
),

engagement_actuals as (
    select
        goal_id,
        period_start_date,
        case when sum(post_impressions) filter (where metric_date >= period_start_date) > 0
            then cast(sum(interactions) filter (where metric_date >= period_start_date) as double precision)
                / sum(post_impressions) filter (where metric_date >= period_start_date)
        end as engagement_rate,
        sum(posts_published) filter (where metric_date >= period_start_date) as posts_published,
        sum(interactions) filter (where metric_date >= period_start_date) as interactions,
        sum(post_impressions) filter (where metric_date >= period_start_date) as post_impressions
    from scoped_engagement
    group by goal_id, period_start_date
),

follower_points as (
    -- per account: followers on the last reported day of the period, and on the last reported day
    -- before it (or, for an account's first period, its first reported day in the period)
    select
        goal_id,
        period_start_date,
        platform,
        account_id,
        {{ arg_max('followers', 'metric_date', filter='metric_date >= period_start_date and followers is not null') }}
            as end_followers,
        coalesce(
            {{ arg_max('followers', 'metric_date', filter='metric_date < period_start_date and followers is not null') }},
            {{ arg_min('followers', 'metric_date', filter='metric_date >= period_start_date and followers is not null') }}
        ) as base_followers
    from scoped_engagement
    where metric = 'follower_growth'
    group by goal_id, period_start_date, platform, account_id
),

follower_actuals as (
    select
        goal_id,
        period_start_date,
        case when sum(base_followers) > 0
            then cast(sum(end_followers) - sum(base_followers) as double precision) / sum(base_followers)
        end as follower_growth,
        sum(base_followers) as base_followers,
        sum(end_followers) as end_followers
    from follower_points
    where end_followers is not null and base_followers is not null
    group by goal_id, period_start_date
),

sla_actuals as (
    select
        p.goal_id,
        p.period_start_date,
        {{ median('s.business_minutes_to_respond') }} filter (where s.first_response_at is not null)
            as median_business_response_minutes,
        case when count(*) > 0
            then cast(count(s.first_response_at) as double precision) / count(*)
        end as response_rate,
        case when count(*) filter (where s.status in ('met', 'breached')) > 0
            then cast(count(*) filter (where s.status = 'met') as double precision)
                / count(*) filter (where s.status in ('met', 'breached'))
        end as sla_met_share,
        count(*) as sla_events
    from periods as p
    inner join goals as g on p.goal_id = g.goal_id
    inner join sla as s
        on (g.platform is null or s.platform = g.platform)
        and (g.account_id is null or s.account_id = g.account_id)
        and s.arrived_date between p.period_start_date and p.period_end_date
    where g.metric in ('median_business_response_minutes', 'response_rate', 'sla_met_share')
    group by p.goal_id, p.period_start_date
)

select
    p.goal_period_key,
    p.goal_id,
    p.period_start_date,
    case g.metric
        when 'engagement_rate' then e.engagement_rate
        when 'posts_published' then cast(e.posts_published as double precision)
        when 'follower_growth' then f.follower_growth
        when 'median_business_response_minutes' then cast(s.median_business_response_minutes as double precision)
        when 'response_rate' then s.response_rate
        when 'sla_met_share' then s.sla_met_share
    end as actual,
    cast(case g.metric
        when 'engagement_rate' then e.post_impressions
        when 'posts_published' then e.posts_published
        when 'follower_growth' then f.base_followers
        else s.sla_events
    end as bigint) as sample_size
from periods as p
inner join goals as g on p.goal_id = g.goal_id
left join engagement_actuals as e on p.goal_id = e.goal_id and p.period_start_date = e.period_start_date
left join follower_actuals as f on p.goal_id = f.goal_id and p.period_start_date = f.period_start_date
left join sla_actuals as s on p.goal_id = s.goal_id and p.period_start_date = s.period_start_date
