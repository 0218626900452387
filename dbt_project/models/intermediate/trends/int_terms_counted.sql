-- Per period (local day and ISO week), scope and term: how many messages and distinct members used the
-- term, their sentiment and two example messages. Scopes as in the crisis marts: each account, each
-- platform (account_id 'all') and the whole community (platform and account_id 'all').
-- A message counts once per (author, text): one member pasting the same text ten times is one mention.
{% set periods = [('day', 'created_date'), ('week', 'created_week')] %}
{% set scopes = [('platform', 'account_id'), ('platform', "'all'"), ("'all'", "'all'")] %}

with mentioned as (
    select *, author_id || '|' || content_hash as author_text
    from {{ ref('int_terms_mentioned') }}
)

{% for period, period_col in periods %}
{% for platform_col, account_col in scopes %}
select
    '{{ period }}' as period,
    {{ period_col }} as period_start,
    {{ platform_col }} as platform,
    {{ account_col }} as account_id,
    term,
    count(distinct author_text) as mentions,
    count(distinct author_id) as authors,
    count(distinct case when is_negative then author_text end) as negative_mentions,
    avg(sentiment_score) as avg_sentiment_score,
    min(comment_key) as example_comment_key_1,
    max(comment_key) as example_comment_key_2
from mentioned
group by {{ period_col }}, {% for col in [platform_col, account_col] if not col.startswith("'") %}{{ col }}, {% endfor %}term
{% if not loop.last %}union all{% endif %}
{% endfor %}
{% if not loop.last %}union all{% endif %}
{% endfor %}
