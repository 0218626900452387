-- What members start talking about: one row per period (local day, ISO week), scope and term, scored
-- against the term's own baseline, the `baseline_periods` periods just before (docs/trends.md).
--
-- The score is the log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi and Quinn 2008,
-- "Fightin' Words") of the current period against its baseline, as a z-score, on distinct-member counts
-- so one member repeating a word cannot make a trend. With y_i the members using the term now, n_i all
-- (member, term) pairs of the scope now, y_j and n_j the same summed over the baseline, and a prior
-- shaped like the two pooled and worth `prior_weight` of them (a_w = w (y_i + y_j), a0 = w (n_i + n_j)):
--   delta = ln((y_i + a_w) / (n_i + a0 - y_i - a_w)) - ln((y_j + a_w) / (n_j + a0 - y_j - a_w))
--   score = delta / sqrt(1 / (y_i + a_w) + 1 / (y_j + a_w))
-- A term qualifies with `min_authors` members in the period, or in one of its baseline periods (a term
-- that falls silent is kept, as falling). A scope with no message in the baseline has no score yet.
{%- set t = var('trends') -%}
{%- set min_authors = t.min_authors | int -%}
{%- set min_score = t.min_score | float -%}
{%- set w = t.prior_weight | float %}

with baselined as (
    select * from {{ ref('int_terms_baselined') }}
),

labels as (
    select * from {{ ref('int_term_labels') }}
),

prior as (
    select
        j.*,
        {{ w }} * (j.y_i + j.y_j) as a_w,
        {{ w }} * (j.n_i + j.n_j) as a0
    from baselined as j
),

scored as (
    select
        j.*,
        case
            -- no baseline yet (the first periods of history), or the term is all its scope says
            when j.n_j = 0 or (j.n_i - j.y_i) + (j.n_j - j.y_j) = 0 then null
            else (
                ln((j.y_i + j.a_w) / (j.n_i + j.a0 - j.y_i - j.a_w))
                - ln((j.y_j + j.a_w) / (j.n_j + j.a0 - j.y_j - j.a_w))
            ) / sqrt(1.0 / (j.y_i + j.a_w) + 1.0 / (j.y_j + j.a_w))
        end as score
    from prior as j
)

select
    s.period || ':' || cast(s.period_start as {{ dbt.type_string() }}) || ':' || s.platform || ':'
        || s.account_id || ':' || s.term as trend_key,
    s.period_start,
    s.period,
    s.platform,
    s.account_id,
    s.term,
    coalesce(l.surface, s.term) as surface,
    coalesce(l.language, 'und') as language,
    case
        when s.term like '#%' then 'hashtag'
        when s.term like '@%' then 'mention'
        when s.term like '% %' then 'phrase'
        else 'word'
    end as kind,
    s.mentions,
    s.authors,
    s.baseline_mentions,
    s.baseline_authors,
    -- rounded: four decimals are more than a ranking needs, and they compare exactly in tests
    {{ round_float('s.score', 4) }} as score,
    case
        when s.score is null then null
        when s.score >= {{ min_score }} and s.baseline_peak_authors < {{ min_authors }} then 'emerging'
        when s.score >= {{ min_score }} then 'rising'
        when s.score <= -{{ min_score }} then 'falling'
        else 'stable'
    end as trend,
    s.negative_mentions,
    case when s.mentions > 0 then cast(s.negative_mentions as double precision) / s.mentions end
        as negative_share,
    s.avg_sentiment_score,
    s.example_comment_key_1,
    s.example_comment_key_2
from scored as s
left join labels as l
    on l.term = s.term
where s.authors >= {{ min_authors }} or s.baseline_peak_authors >= {{ min_authors }}
