-- message_sk computed as stg_social__comments stores it (the same macro), so the 12M-row joins of the
-- enrichment with the messages compare one bigint; a view, so it costs one hash per row read.
select
    platform,
    comment_id,
    {{ message_key('platform', 'comment_id') }} as message_sk,
    content_hash,
    coalesce(language, 'und') as language,
    sentiment_score,
    coalesce(sentiment_label, 'neutral') as sentiment_label,
    coalesce(intent, 'other') as intent,
    coalesce(priority, 'normal') as priority,
    nullif(keywords, '') as keywords,
    model_version,
    enriched_at
from {{ source('social', 'comment_enrichment') }}
