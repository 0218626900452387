-- One row per period (local day, ISO week), scope and term the trend score looks at: a term in each
-- period it qualifies in (`min_authors` members) and in the `baseline_periods` periods after one it
-- qualified in, with its counts now and over its baseline and the size of each corpus (members per term
-- summed over the scope's terms). fct_trending_terms scores them (docs/trends.md).
{%- set t = var('trends') -%}
{%- set min_authors = t.min_authors | int -%}
{%- set k = t.baseline_periods | int %}

with terms_counted as (
    select * from {{ ref('int_terms_counted') }}
),

counted as (
    select
        c.*,
        -- consecutive periods get consecutive numbers: days since a Monday, or weeks since it
        cast({{ dbt.datediff("cast('2000-01-03' as date)", 'c.period_start', 'day') }}
            / (case when c.period = 'week' then 7 else 1 end) as integer) as period_index
    from terms_counted as c
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
)

select * from joined
