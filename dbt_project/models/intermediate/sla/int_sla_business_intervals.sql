-- Opening spans with the running total of open seconds before each: the index business-time
-- arithmetic looks up (see macros/sla_business_time.sql).
with spans as (
    select
        local_date,
        open_at,
        close_at,
        {{ sla_seconds_between('open_at', 'close_at') }} as open_seconds
    from {{ ref('stg_config__business_intervals') }}
)

select
    local_date,
    open_at,
    close_at,
    open_seconds,
    cast(coalesce(
        sum(open_seconds) over (order by open_at rows between unbounded preceding and 1 preceding), 0
    ) as bigint) as seconds_before,
    lead(open_at) over (order by open_at) as next_open_at
from spans
