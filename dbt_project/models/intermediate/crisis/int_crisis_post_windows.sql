{{ config(materialized='view') }}
{#-
  Per brand account and UTC hour, the post with the most negative messages over the trailing post
  window (`post_turning_negative.window_hours`, the hour included), and per hour for the whole
  community (platform and account 'all'). Only hours with such a message in the window have a row.

  A view: int_crisis_hourly_baselines reads the hours it rebuilds, and the filter on hour_at reaches
  the scan of int_crisis_post_hourly; a table would recompute every hour of history on every run.
-#}
{%- set pt_window = var('crisis').post_turning_negative.window_hours | int %}

with post_hourly as (
    select * from {{ ref('int_crisis_post_hourly') }}
),

-- negatives per post over the trailing post window: each post-hour counts in the window of every
-- hour it precedes by less than window_hours, so quiet hours after a burst still see it
post_window as (
    select
        p.platform,
        p.account_id,
        p.post_id,
        p.hour_at + t.k * interval '1 hour' as hour_at,
        sum(p.negative_count) as negatives_in_window
    from post_hourly as p
    cross join (select g.k from generate_series(0, {{ pt_window - 1 }}) as g(k)) as t
    group by 1, 2, 3, 4
),

post_top_account as (
    select platform, account_id, hour_at,
        max(negatives_in_window) as post_negative_count,
        -- ties go to the smaller key (as in fct_crisis_incidents' post_keys): arg_max picks any of
        -- them, and an incremental run and a full build then named different posts
        {{ first_ordered("platform || ':' || post_id", "negatives_in_window desc, platform || ':' || post_id") }} as post_key
    from post_window
    group by platform, account_id, hour_at
)

select * from post_top_account
union all
select 'all' as platform, 'all' as account_id, hour_at, max(post_negative_count) as post_negative_count,
    {{ first_ordered('post_key', 'post_negative_count desc, post_key') }} as post_key
from post_top_account
group by hour_at
