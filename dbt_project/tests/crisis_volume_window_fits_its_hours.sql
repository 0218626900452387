{#- The busiest 60 minutes ending in an hour hold at least the hour's messages (the window ending at its
    last message holds all of them) and at most those plus the previous hour's (60 minutes reach no
    further back); every hour with a message has its row. A row returned is a bug. -#}
select h.platform, h.account_id, h.hour_at, h.inbound_count, r.window_count_peak
from {{ ref('int_crisis_hourly') }} as h
left join {{ ref('int_crisis_volume_rolling') }} as r
    on r.platform = h.platform and r.account_id = h.account_id and r.hour_at = h.hour_at
left join {{ ref('int_crisis_hourly') }} as p
    on p.platform = h.platform and p.account_id = h.account_id and p.hour_at = h.hour_at - interval '1 hour'
where r.window_count_peak is null
    or r.window_count_peak < h.inbound_count
    or r.window_count_peak > h.inbound_count + coalesce(p.inbound_count, 0)
