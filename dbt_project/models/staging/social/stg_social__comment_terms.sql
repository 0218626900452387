-- Terms of each comment as the enrichment step stored them (enrichment/terms.py): one row per
-- comment and term, for the version of the text that was scored (content_hash).
select
    platform,
    comment_id,
    content_hash,
    term,
    surface,
    kind,
    coalesce(language, 'und') as language
from {{ source('social', 'comment_terms') }}
