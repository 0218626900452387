-- Response times per local day of arrival, platform, account and responding team member.
-- responder_member_id is null for items answered by the account itself and for unanswered items;
-- the `unanswered` rows of a day are those with first_response_at null.
with events as (
    select
        cast({{ to_local('arrived_at') }} as date) as local_date,
        platform,
        account_id,
        responder_member_id,
        first_response_at,
        calendar_minutes_to_respond,
        business_minutes_to_respond,
        status
    from {{ ref('fct_sla_events') }}
)

select
    local_date,
    platform,
    account_id,
    responder_member_id,
    platform || ':' || coalesce(account_id, '') || ':' || coalesce(responder_member_id, '')
        || ':' || cast(local_date as varchar) as response_day_key,
    count(*) as items,
    sum(case when first_response_at is not null then 1 else 0 end) as answered_items,
    avg(case when first_response_at is not null then 1.0 else 0.0 end) as answered_share,
    percentile_cont(0.5) within group (order by calendar_minutes_to_respond) as median_calendar_minutes,
    percentile_cont(0.9) within group (order by calendar_minutes_to_respond) as p90_calendar_minutes,
    percentile_cont(0.5) within group (order by business_minutes_to_respond) as median_business_minutes,
    percentile_cont(0.9) within group (order by business_minutes_to_respond) as p90_business_minutes,
    sum(case when status = 'met' then 1 else 0 end) as met_items,
    sum(case when status = 'breached' then 1 else 0 end) as breached_items,
    -- decided items only: a pending or at-risk item may still be met
    sum(case when status = 'met' then 1.0 else 0.0 end)
    / nullif(sum(case when status in ('met', 'breached') then 1 else 0 end), 0) as within_sla_share
from events
group by local_date, platform, account_id, responder_member_id
