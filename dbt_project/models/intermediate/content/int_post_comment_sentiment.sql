-- One row per post with member messages under it: how many, how many enriched, and their sentiment.
-- Spam never counts.
with member_messages as (
    select * from {{ ref('int_member_messages') }}
)

select
    platform,
    post_id,
    count(*) filter (where not is_spam) as member_comments,
    count(sentiment_score) filter (where not is_spam) as enriched_comments,
    avg(sentiment_score) filter (where not is_spam) as avg_sentiment_score,
    count(*) filter (where not is_spam and sentiment_label = 'positive') as positive_comments,
    count(*) filter (where not is_spam and sentiment_label = 'negative') as negative_comments
from member_messages
where post_id is not null
group by platform, post_id
