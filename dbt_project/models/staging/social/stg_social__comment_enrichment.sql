select
    platform,
    comment_id,
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
