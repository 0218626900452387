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
{%- set k = t.baseline_periods | int -%}
{%- set min_score = t.min_score | float -%}
{%- set w = t.prior_weight | float %}

with counted as (
    select
        c.*,
        -- consecutive periods get consecutive numbers: days since a Monday, or weeks since it
        cast({{ dbt.datediff("cast('2000-01-03' as date)", 'c.period_start', 'day') }}
            / (case when c.period = 'week' then 7 else 1 end) as integer) as period_index
    from {{ ref('int_terms_counted') }} as c
),

-- (member, term) pairs of each scope and period: the size of the corpus a term's count is out of
totals as (
    select period, period_index, min(period_start) as period_start, platform, account_id,
        sum(authors) as total_authors
    from counted
    group by period, period_index, platform, account_id
),

baseline_totals as (
    select cur.period, cur.period_index, cur.platform, cur.account_id,
        coalesce(sum(b.total_authors), 0) as baseline_total_authors
    from totals as cur
    left join totals as b
        on b.period = cur.period and b.platform = cur.platform and b.account_id = cur.account_id
        and b.period_index between cur.period_index - {{ k }} and cur.period_index - 1
    group by cur.period, cur.period_index, cur.platform, cur.account_id
),

-- a term is looked at in each period it qualifies in, and in the periods whose baseline it qualifies in
candidates as (
    select period, period_index, platform, account_id, term
    from counted
    where authors >= {{ min_authors }}
    union
    select s.period, s.period_index, s.platform, s.account_id, c.term
    from counted as c
    inner join totals as s
        on s.period = c.period and s.platform = c.platform and s.account_id = c.account_id
        and s.period_index between c.period_index + 1 and c.period_index + {{ k }}
    where c.authors >= {{ min_authors }}
),

baselines as (
    select cand.period, cand.period_index, cand.platform, cand.account_id, cand.term,
        coalesce(sum(b.mentions), 0) as baseline_mentions,
        coalesce(sum(b.authors), 0) as baseline_authors,
        coalesce(max(b.authors), 0) as baseline_peak_authors
    from candidates as cand
    left join counted as b
        on b.period = cand.period and b.platform = cand.platform and b.account_id = cand.account_id
        and b.term = cand.term
        and b.period_index between cand.period_index - {{ k }} and cand.period_index - 1
    group by cand.period, cand.period_index, cand.platform, cand.account_id, cand.term
),

-- the readable form and language of a term: the ones most of its uses have
labels as (
    select term, surface, language, kind
    from (
        select term, surface, language, kind,
            row_number() over (partition by term order by count(*) desc, surface asc, language asc) as rn
        from {{ ref('int_terms_mentioned') }}
        group by term, surface, language, kind
    ) as ranked
    where rn = 1
),

joined as (
    select
        bl.period,
        tot.period_start,
        bl.platform,
        bl.account_id,
        bl.term,
        coalesce(cur.mentions, 0) as mentions,
        coalesce(cur.authors, 0) as authors,
        coalesce(cur.negative_mentions, 0) as negative_mentions,
        cur.avg_sentiment_score,
        cur.example_comment_key_1,
        case when cur.example_comment_key_2 <> cur.example_comment_key_1 then cur.example_comment_key_2 end
            as example_comment_key_2,
        bl.baseline_mentions,
        bl.baseline_authors,
        bl.baseline_peak_authors,
        -- double precision, not dbt.type_float(): that is a 4-byte FLOAT on dbt-duckdb, and the score
        -- came out of float32 arithmetic there (a different 4th decimal than on PostgreSQL)
        cast(tot.total_authors as double precision) as n_i,
        cast(bt.baseline_total_authors as double precision) as n_j,
        cast(coalesce(cur.authors, 0) as double precision) as y_i,
        cast(bl.baseline_authors as double precision) as y_j
    from baselines as bl
    inner join totals as tot
        on tot.period = bl.period and tot.period_index = bl.period_index
        and tot.platform = bl.platform and tot.account_id = bl.account_id
    inner join baseline_totals as bt
        on bt.period = bl.period and bt.period_index = bl.period_index
        and bt.platform = bl.platform and bt.account_id = bl.account_id
    left join counted as cur
        on cur.period = bl.period and cur.period_index = bl.period_index
        and cur.platform = bl.platform and cur.account_id = bl.account_id and cur.term = bl.term
),

prior as (
    select
        j.*,
        {{ w }} * (j.y_i + j.y_j) as a_w,
        {{ w }} * (j.n_i + j.n_j) as a0
    from joined as j
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
