{{ config(materialized='incremental', unique_key='comment_key', incremental_strategy='delete+insert') }}
-- depends_on: {{ ref('stg_social__comments') }}
-- Inbound member messages (comments, replies, mentions, DMs, reviews; never the brand's own) with
-- their enrichment and the account they were addressed to. Incremental: each run re-reads only the
-- messages landed or re-scored since the last build (less `reload_margin_minutes`), so a 10-minute
-- watch costs what is new. Landing and scoring times only grow (stamped under the writer lock), so no
-- longer look-back is needed; a look-back of days would re-read every message after a backfill.
{% set margin = var('reload_margin_minutes', 15) | int %}

with brand_accounts as (
    select platform, account_id from {{ ref('stg_config__brand_accounts') }}
    union
    select platform, account_id from {{ ref('stg_social__accounts') }}
),

-- DMs and mentions carry no post: on a platform where the brand has one account, they are its.
single_account as (
    select platform, min(account_id) as account_id
    from brand_accounts
    group by platform
    having count(*) = 1
),

{% if is_incremental() %}
-- the keys to redo, found on each side before joining (from the plain staging views, each read once
-- with its time filter), so the join never touches all of history
changed as (
    select platform, comment_id from {{ ref('stg_social__comments') }}
    where loaded_at > (select max(changed_at) from {{ this }}) - interval {{ margin }} minute
    union
    select platform, comment_id from {{ ref('stg_social__comment_enrichment') }}
    where enriched_at > (select max(changed_at) from {{ this }}) - interval {{ margin }} minute
),
{% endif %}

comments as (
    select a.platform, a.comment_id, a.post_id, a.channel, a.created_at, a.loaded_at
    from {{ ref('int_comments_authored') }} as a
    {% if is_incremental() %}
    inner join changed as k on k.platform = a.platform and k.comment_id = a.comment_id
    {% endif %}
    where not a.is_brand and not a.is_deleted and a.created_at is not null
)

select
    c.platform || ':' || c.comment_id as comment_key,
    c.platform,
    c.comment_id,
    coalesce(p.account_id, s.account_id, 'unknown') as account_id,
    c.post_id,
    c.channel,
    c.created_at,
    {{ dbt.date_trunc('hour', 'c.created_at') }} as hour_at,
    coalesce(e.language, 'und') as language,
    e.sentiment_score,
    coalesce(e.sentiment_label, 'neutral') as sentiment_label,
    coalesce(e.sentiment_label = 'negative', false) as is_negative,
    e.keywords,
    e.enriched_at is not null as is_enriched,
    c.loaded_at,
    e.enriched_at,
    greatest(c.loaded_at, coalesce(e.enriched_at, c.loaded_at)) as changed_at
from comments as c
left join {{ ref('stg_social__comment_enrichment') }} as e
    on e.platform = c.platform and e.comment_id = c.comment_id
left join {{ ref('stg_social__posts') }} as p
    on p.platform = c.platform and p.post_id = c.post_id
left join single_account as s
    on s.platform = c.platform
