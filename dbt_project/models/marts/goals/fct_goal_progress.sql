-- One row per configured goal and local calendar period (int_goal_periods) with the metric over the
-- period (int_goal_actuals), judged against the target. Rates, medians and shares are judged as they
-- stand; growth and counts accumulate over the period, so an unfinished period is judged against the
-- target pro rata (target_to_date).
with goals as (
    select * from {{ ref('stg_config__goals') }}
),

periods as (
    select * from {{ ref('int_goal_periods') }}
),

actuals as (
    select * from {{ ref('int_goal_actuals') }}
),

evaluated as (
    select cast({{ to_local(as_of()) }} as date) as as_of_date
),

measured as (
    select
        p.goal_period_key,
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
        ev.as_of_date,
        a.actual,
        a.sample_size,
        g.metric in ('follower_growth', 'posts_published') as is_cumulative,
        least(
            1.0,
            cast(ev.as_of_date - p.period_start_date + 1 as double precision)
                / (p.period_end_date - p.period_start_date + 1)
        ) as elapsed_share
    from periods as p
    inner join goals as g on p.goal_id = g.goal_id
    cross join evaluated as ev
    left join actuals as a on p.goal_period_key = a.goal_period_key
),

judged as (
    select
        *,
        case when is_cumulative then target * elapsed_share else target end as target_to_date,
        lag(actual) over (partition by goal_id order by period_start_date) as previous_actual
    from measured
)

select
    goal_period_key,
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
