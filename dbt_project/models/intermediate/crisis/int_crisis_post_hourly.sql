{{ config(materialized='incremental', unique_key='post_hour_key', incremental_strategy='delete+insert') }}
-- Negative inbound messages per post and UTC hour, the input of the "post turning negative" signal.
-- Incremental like int_crisis_hourly: only hours holding a changed message are recomputed.

with changed_hours as (
    select distinct hour_at
    from {{ ref('int_crisis_comments') }}
    {% if is_incremental() %}
    -- coalesce: after a build that saw no message, max() is null and nothing would compare greater
    where changed_at > (select coalesce(max(changed_at), timestamp '1900-01-01') from {{ this }}) - interval '1 hour'
    {% endif %}
)

select
    platform || ':' || post_id || ':' || {{ hour_key('hour_at') }} as post_hour_key,
    platform,
    account_id,
    post_id,
    hour_at,
    count(*) as negative_count,
    max(changed_at) as changed_at
from {{ ref('int_crisis_comments') }}
where is_negative and post_id is not null
{% if is_incremental() %}
    and hour_at in (select hour_at from changed_hours)
{% endif %}
group by platform, account_id, post_id, hour_at
