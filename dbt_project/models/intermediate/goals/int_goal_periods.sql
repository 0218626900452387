-- One row per configured goal (config.goals) and local calendar period (week, month or quarter, as the
-- goal says), from the first day with engagement data to the evaluation instant's local date.
with goals as (
    select * from {{ ref('stg_config__goals') }}
),

engagement as (
    select * from {{ ref('agg_engagement_daily') }}
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
)

select
    cast(gp.goal_id as varchar) || ':' || cast(gp.period_start_date as varchar) as goal_period_key,
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
