-- One row per configured goal (config.goals) and local calendar period (week, month or quarter, as the
-- goal says), from the first day with engagement data to the evaluation instant. Metric definitions
-- are in docs/metrics.md. Rates, medians and shares are judged as they stand; growth and counts
-- accumulate over the period, so an unfinished period is judged against the target pro rata
-- (target_to_date). SLA-based goals read fct_sla_events (events by local arrival date).
with goals as (
    select * from {{ ref('stg_config__goals') }}
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

bounds as (
    select
        min(metric_date) as first_date,
        cast({{ to_local(as_of()) }} as date) as as_of_date
    from engagement
),

days as (
    select cast(d as date) as day
    from bounds, generate_series(cast(first_date as timestamp), cast(as_of_date as timestamp), interval '1 day') as t(d)
    where first_date is not null
),

goal_periods as (
    select distinct
        g.goal_id,
        g.period,
        cast(date_trunc(g.period, cast(d.day as timestamp)) as date) as period_start_date
    from goals as g
    cross join days as d
),

periods as (
    select
        gp.goal_id,
        gp.period_start_date,
        cast(
            case gp.period
                when 'week' then gp.period_start_date + interval '7 day'
                when 'month' then gp.period_start_date + interval '1 month'
                else gp.period_start_date + interval '3 month'
            end as date
        ) - 1 as period_end_date
    from goal_periods as gp
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
),

measured as (
    select
        g.goal_id,
        g.goal_name,
        g.metric,
        g.platform,
        g.account_id,
        g.period,
        g.direction,
        g.target,
        p.period_start_date,
        p.period_end_date,
        b.as_of_date,
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
        end as bigint) as sample_size,
        g.metric in ('follower_growth', 'posts_published') as is_cumulative,
        least(
            1.0,
            cast(b.as_of_date - p.period_start_date + 1 as double precision)
                / (p.period_end_date - p.period_start_date + 1)
        ) as elapsed_share
    from periods as p
    inner join goals as g on p.goal_id = g.goal_id
    cross join bounds as b
    left join engagement_actuals as e on p.goal_id = e.goal_id and p.period_start_date = e.period_start_date
    left join follower_actuals as f on p.goal_id = f.goal_id and p.period_start_date = f.period_start_date
    left join sla_actuals as s on p.goal_id = s.goal_id and p.period_start_date = s.period_start_date
),

judged as (
    select
        *,
        case when is_cumulative then target * elapsed_share else target end as target_to_date,
        lag(actual) over (partition by goal_id order by period_start_date) as previous_actual
    from measured
)

select
    cast(goal_id as varchar) || ':' || cast(period_start_date as varchar) as goal_period_key,
    goal_id,
    goal_name,
    metric,
    platform,
    account_id,
    period,
    period_start_date,
    period_end_date,
    period_end_date >= as_of_date and period_start_date <= as_of_date as is_current_period,
    period_end_date < as_of_date as is_complete,
    elapsed_share,
    actual,
    target,
    target_to_date,
    direction,
    sample_size,
    case
        when actual is null then null
        when direction = 'at_least' then actual >= target_to_date
        else actual <= target_to_date
    end as is_on_track,
    previous_actual,
    actual - previous_actual as change_vs_previous,
    case
        when actual is null or previous_actual is null then null
        when actual = previous_actual then 'flat'
        when (actual > previous_actual) = (direction = 'at_least') then 'improving'
        else 'worsening'
    end as trend
from judged
