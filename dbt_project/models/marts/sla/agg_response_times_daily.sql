{{ config(
    materialized='incremental',
    unique_key='response_day_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook=["{% if is_incremental() %}delete from {{ this }} where local_date in (select local_date from ({{ sla_response_days_to_recompute(ref('fct_sla_events'), this) }}) as d){% endif %}"]
) }}
-- Response times per local day of arrival, platform, account and responding team member.
-- responder_member_id is null for items answered by the account itself and for unanswered items;
-- the `unanswered` rows of a day are those with first_response_at null.
-- Incremental by local day: a run recomputes the days holding an item fct_sla_events (re)evaluated
-- since this table's last build (the pre-hook first clears them, so a group that disappeared leaves
-- no row), not every day of history. An item that stops being one (re-scored as spam) leaves its
-- day as it was until another item of that day changes, or a --full-refresh.
with
{% if is_incremental() %}
days as (
    {{ sla_response_days_to_recompute(ref('fct_sla_events'), this) }}
),

-- UTC dates around the changed local days: a cheap first filter, so the timezone conversion below
-- runs on those days' items only
utc_dates as (
    select distinct cast({{ dbt.dateadd('day', 'o.n', 'd.local_date') }} as date) as utc_date
    from days as d
    cross join (select -1 as n union all select 0 union all select 1) as o
),
{% endif %}

events as (
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
    {% if is_incremental() %}
    where cast(arrived_at as date) in (select utc_date from utc_dates)
    {% endif %}
),

{% if is_incremental() %}
recomputed as (
    select * from events where local_date in (select local_date from days)
)
{% else %}
recomputed as (
    select * from events
)
{% endif %}

select
    local_date,
    platform,
    account_id,
    responder_member_id,
    platform || ':' || coalesce(account_id, '') || ':' || coalesce(responder_member_id, '')
        || ':' || cast(local_date as varchar) as response_day_key,
    count(*) as items,
    sum(case when first_response_at is not null then 1 else 0 end) as answered_items,
    cast(avg(case when first_response_at is not null then 1.0 else 0.0 end) as double precision) as answered_share,
    percentile_cont(0.5) within group (order by calendar_minutes_to_respond) as median_calendar_minutes,
    percentile_cont(0.9) within group (order by calendar_minutes_to_respond) as p90_calendar_minutes,
    percentile_cont(0.5) within group (order by business_minutes_to_respond) as median_business_minutes,
    percentile_cont(0.9) within group (order by business_minutes_to_respond) as p90_business_minutes,
    sum(case when status = 'met' then 1 else 0 end) as met_items,
    sum(case when status = 'breached' then 1 else 0 end) as breached_items,
    -- decided items only: a pending or at-risk item may still be met
    cast(sum(case when status = 'met' then 1.0 else 0.0 end) as double precision)
    / nullif(sum(case when status in ('met', 'breached') then 1 else 0 end), 0) as within_sla_share,
    {{ as_of() }} as built_as_of
from recomputed
group by local_date, platform, account_id, responder_member_id
