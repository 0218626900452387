{#
  SQL that DuckDB and PostgreSQL spell differently, one macro each (jaffle-shop's pattern: models call
  the macro, never the dialect). The DuckDB versions stay DuckDB-native so DuckDB's plans do not change;
  the PostgreSQL versions give the same values. Where a portable spelling exists (quoted intervals,
  `double precision`, `extract`, window subqueries instead of `qualify`, dbt's cross-database macros),
  models use it directly and there is no macro here.
#}

{# An hour as key text, 2025-03-20T14: the hour part of every *_key of the crisis models. #}
{% macro hour_key(ts) -%}
    {{ return(adapter.dispatch('hour_key', 'tertulia')(ts)) }}
{%- endmacro %}

{% macro default__hour_key(ts) -%}
    strftime({{ ts }}, '%Y-%m-%dT%H')
{%- endmacro %}

{% macro postgres__hour_key(ts) -%}
    to_char({{ ts }}, 'YYYY-MM-DD"T"HH24')
{%- endmacro %}

{# The English name of a timestamp's weekday (Monday). #}
{% macro weekday_name(ts) -%}
    {{ return(adapter.dispatch('weekday_name', 'tertulia')(ts)) }}
{%- endmacro %}

{% macro default__weekday_name(ts) -%}
    dayname({{ ts }})
{%- endmacro %}

{% macro postgres__weekday_name(ts) -%}
    {#- FM: no padding to nine letters; the C/English names whatever lc_time says. -#}
    to_char({{ ts }}, 'FMDay')
{%- endmacro %}

{# One row per part of `text` split on the literal `sep`; a table function for a FROM clause
   (`from t, {{ split_to_rows('t.col', "','") }} as s(part)`). #}
{% macro split_to_rows(text, sep) -%}
    {{ return(adapter.dispatch('split_to_rows', 'tertulia')(text, sep)) }}
{%- endmacro %}

{% macro default__split_to_rows(text, sep) -%}
    unnest(string_split({{ text }}, {{ sep }}))
{%- endmacro %}

{% macro postgres__split_to_rows(text, sep) -%}
    unnest(string_to_array({{ text }}, {{ sep }}))
{%- endmacro %}

{# One row per part of `text` split on the regular expression `pattern`; a set-returning expression
   for a SELECT list. #}
{% macro split_regex_to_rows(text, pattern) -%}
    {{ return(adapter.dispatch('split_regex_to_rows', 'tertulia')(text, pattern)) }}
{%- endmacro %}

{% macro default__split_regex_to_rows(text, pattern) -%}
    unnest(string_split_regex({{ text }}, {{ pattern }}))
{%- endmacro %}

{% macro postgres__split_regex_to_rows(text, pattern) -%}
    regexp_split_to_table({{ text }}, {{ pattern }})
{%- endmacro %}

{# The `value` of the row with the greatest (arg_max) or least (arg_min) `order_by`, over the rows
   where `filter` holds (DuckDB's semantics: rows whose value or order_by is null are skipped). #}
{% macro arg_max(value, order_by, filter=none) -%}
    {{ return(adapter.dispatch('arg_extreme', 'tertulia')(value, order_by, filter, 'max')) }}
{%- endmacro %}

{% macro arg_min(value, order_by, filter=none) -%}
    {{ return(adapter.dispatch('arg_extreme', 'tertulia')(value, order_by, filter, 'min')) }}
{%- endmacro %}

{# `extreme` is 'max' or 'min'; one body for both, so their null and filter rules cannot drift apart. #}
{% macro default__arg_extreme(value, order_by, filter, extreme) -%}
    arg_{{ extreme }}({{ value }}, {{ order_by }}){% if filter %} filter (where {{ filter }}){% endif %}
{%- endmacro %}

{% macro postgres__arg_extreme(value, order_by, filter, extreme) -%}
    (array_agg({{ value }} order by {{ order_by }} {{ 'desc' if extreme == 'max' else 'asc' }}) filter (
        where {{ value }} is not null and {{ order_by }} is not null{% if filter %} and ({{ filter }}){% endif %}
    ))[1]
{%- endmacro %}

{# `value` of the first row in `order_by` order, nulls included (DuckDB's ordered `first`). Write the
   null order out in `order_by` (`desc nulls last`): the engines' defaults differ. #}
{% macro first_ordered(value, order_by, filter=none) -%}
    {{ return(adapter.dispatch('first_ordered', 'tertulia')(value, order_by, filter)) }}
{%- endmacro %}

{% macro default__first_ordered(value, order_by, filter=none) -%}
    first({{ value }} order by {{ order_by }}){% if filter %} filter (where {{ filter }}){% endif %}
{%- endmacro %}

{% macro postgres__first_ordered(value, order_by, filter=none) -%}
    (array_agg({{ value }} order by {{ order_by }}){% if filter %} filter (where {{ filter }}){% endif %})[1]
{%- endmacro %}

{# The median of `expr` (continuous: the mean of the two middle values of an even count), as an
   aggregate; a `filter (where ...)` clause may follow the call. #}
{% macro median(expr) -%}
    {{ return(adapter.dispatch('median', 'tertulia')(expr)) }}
{%- endmacro %}

{% macro default__median(expr) -%}
    median({{ expr }})
{%- endmacro %}

{% macro postgres__median(expr) -%}
    percentile_cont(0.5) within group (order by {{ expr }})
{%- endmacro %}

{# `x` rounded to `digits` decimals, kept a double. PostgreSQL's round() with digits takes numeric, and
   a double cast to numeric keeps 15 significant digits: 2.0235 (stored as 2.02349999999999985) would
   round up there and down on DuckDB. So PostgreSQL does what DuckDB does with a double: scale by
   10^digits in double precision, round half away from zero, scale back. #}
{% macro round_float(x, digits) -%}
    {{ return(adapter.dispatch('round_float', 'tertulia')(x, digits)) }}
{%- endmacro %}

{% macro default__round_float(x, digits) -%}
    round({{ x }}, {{ digits }})
{%- endmacro %}

{% macro postgres__round_float(x, digits) -%}
    {%- set scaled = '(cast(' ~ x ~ ' as double precision) * cast(1e' ~ digits ~ ' as double precision))' -%}
    (sign({{ scaled }}) * floor(abs({{ scaled }}) + 0.5) / cast(1e{{ digits }} as double precision))
{%- endmacro %}

{# Lists (DuckDB) and arrays (PostgreSQL): the rolling baselines of fct_crisis_signals. #}

{# The values of `expr` over a window frame, in frame order; `over` is the window's text (partition,
   order and frame). #}
{% macro window_list(expr, over) -%}
    {{ return(adapter.dispatch('window_list', 'tertulia')(expr, over)) }}
{%- endmacro %}

{% macro default__window_list(expr, over) -%}
    list({{ expr }}) over ({{ over }})
{%- endmacro %}

{% macro postgres__window_list(expr, over) -%}
    array_agg({{ expr }}) over ({{ over }})
{%- endmacro %}

{# How many values a list holds (null for a null list). #}
{% macro list_length(list) -%}
    {{ return(adapter.dispatch('list_length', 'tertulia')(list)) }}
{%- endmacro %}

{% macro default__list_length(list) -%}
    len({{ list }})
{%- endmacro %}

{% macro postgres__list_length(list) -%}
    cardinality({{ list }})
{%- endmacro %}

{# The median of a list's values (null for a null or empty list). #}
{% macro list_median(list) -%}
    {{ return(adapter.dispatch('list_median', 'tertulia')(list)) }}
{%- endmacro %}

{% macro default__list_median(list) -%}
    list_aggregate({{ list }}, 'median')
{%- endmacro %}

{% macro postgres__list_median(list) -%}
    (select percentile_cont(0.5) within group (order by v) from unnest({{ list }}) as v)
{%- endmacro %}

{# The median absolute deviation of a list's values from `center` (null for a null or empty list). #}
{% macro list_median_abs_deviation(list, center) -%}
    {{ return(adapter.dispatch('list_median_abs_deviation', 'tertulia')(list, center)) }}
{%- endmacro %}

{% macro default__list_median_abs_deviation(list, center) -%}
    list_aggregate(list_transform({{ list }}, lambda x: abs(x - {{ center }})), 'median')
{%- endmacro %}

{% macro postgres__list_median_abs_deviation(list, center) -%}
    (select percentile_cont(0.5) within group (order by abs(v - {{ center }})) from unnest({{ list }}) as v)
{%- endmacro %}

{# The continuous `fraction` quantile of `expr` over a window frame (`over` as in window_list).
   PostgreSQL's percentile_cont is no window function: the aggregate tertulia_quantile_cont
   (create_portable_functions) keeps the frame's values and interpolates the same way. #}
{% macro window_quantile_cont(expr, fraction, over) -%}
    {{ return(adapter.dispatch('window_quantile_cont', 'tertulia')(expr, fraction, over)) }}
{%- endmacro %}

{% macro default__window_quantile_cont(expr, fraction, over) -%}
    quantile_cont({{ expr }}, {{ fraction }}) over ({{ over }})
{%- endmacro %}

{% macro postgres__window_quantile_cont(expr, fraction, over) -%}
    {{ target.schema }}.tertulia_quantile_cont(cast({{ expr }} as double precision), {{ fraction }}) over ({{ over }})
{%- endmacro %}

{#
  A message's integer surrogate key from its text key (platform, id): `message_sk`, and from the same
  function the parent's (`parent_message_sk`) and the thread's (`thread_sk`), so that the big joins and
  sorts of history (12M rows at 10M comments) compare one bigint, not two texts that spill under the
  build's memory limit. A hash, not a number assigned at landing: the key is a function of the row
  alone, so an incremental run and a full refresh give the same keys, and a reply's parent key exists
  before its parent lands (a landing sequence would still need a look-up of the parent, the very
  self-join this removes, and a raw column, a migration and the connectors' cooperation). What a hash
  costs is that two ids could share a key: tests on stg_social__comments fail the build loudly when
  two ids do (`message_keys_name_one_id`) or when stored keys were made by another version of the
  function (`message_keys_match_the_hash_function`: DuckDB does not promise `hash()` is stable across
  releases). Null for a null id. The values differ between DuckDB and PostgreSQL; only equality
  between keys of one warehouse is ever used. DuckDB: `hash()` is 64 bits unsigned, halved into a
  bigint.
#}
{% macro message_key(platform, id) -%}
    {{ return(adapter.dispatch('message_key', 'tertulia')(platform, id)) }}
{%- endmacro %}

{% macro default__message_key(platform, id) -%}
    case when {{ id }} is not null then cast(hash({{ platform }}, {{ id }}) >> 1 as bigint) end
{%- endmacro %}

{% macro postgres__message_key(platform, id) -%}
    {#- the platform's hash seeds the id's (no separator that an id could hold); strict: null for a null id -#}
    hashtextextended({{ id }}, hashtext({{ platform }}))
{%- endmacro %}

{# Run before every invocation (on-run-start, dbt_project.yml): the functions postgres__parse_ts
   (macros/timestamps.sql) and postgres__window_quantile_cont call, in the target's schema. Nothing on
   DuckDB. #}
{% macro create_portable_functions() -%}
    {{ return(adapter.dispatch('create_portable_functions', 'tertulia')()) }}
{%- endmacro %}

{% macro default__create_portable_functions() -%}
{%- endmacro %}

{% macro postgres__create_portable_functions() -%}
    {%- set iso = '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)?$' -%}
    create schema if not exists {{ target.schema }};
    create or replace function {{ target.schema }}.tertulia_try_timestamp(value text) returns timestamp
    language plpgsql immutable as $fn$
    begin
        if value !~ '{{ iso }}' then return null; end if;
        return cast(value as timestamp);
    exception when others then return null;
    end
    $fn$;
    create or replace function {{ target.schema }}.tertulia_try_timestamptz(value text) returns timestamptz
    language plpgsql stable as $fn$
    begin
        if value !~ '{{ iso }}' then return null; end if;
        return cast(value as timestamptz);
    exception when others then return null;
    end
    $fn$;
    {#- fct_crisis_signals' rolling quantile (window_quantile_cont): the state is the fraction, then the
        frame's non-null values; the final function is percentile_cont over them. -#}
    create or replace function {{ target.schema }}.tertulia_quantile_state(
        state double precision[], value double precision, fraction double precision
    ) returns double precision[] language sql immutable as $fn$
        select case when value is null then coalesce(state, array[fraction])
            else coalesce(state, array[fraction]) || value end
    $fn$;
    create or replace function {{ target.schema }}.tertulia_quantile_final(state double precision[])
    returns double precision language sql immutable as $fn$
        select percentile_cont(state[1]) within group (order by v) from unnest(state[2:]) as v
    $fn$;
    create or replace aggregate {{ target.schema }}.tertulia_quantile_cont(double precision, double precision) (
        sfunc = {{ target.schema }}.tertulia_quantile_state,
        stype = double precision[],
        finalfunc = {{ target.schema }}.tertulia_quantile_final
    );
{%- endmacro %}

{#
  A pre-hook for a model whose query joins CTEs on keys (`pre_hook=["{{ hash_joins_only() }}"]`): on
  PostgreSQL, hash joins only for the rest of the model's transaction (`set local`, so no other model
  is affected). PostgreSQL keeps no statistics for a CTE, so past the first one the planner guesses
  every row count, and guesses them far too low for a large input: the first incremental cycle of
  int_sla_thread_turns after a backfill (125,000 messages, planned as 86 rows) got a merge join on
  `platform` alone with `comment_id` as its join filter, every message compared with every other of its
  platform, 844 s against 2 s with hash joins. A hash join on the whole key is linear whatever the
  guess; its batches grow at run time if the guess was low. Nothing on DuckDB (an empty hook is skipped),
  whose planner needs no help there.
#}
{% macro hash_joins_only() -%}
    {{ return(adapter.dispatch('hash_joins_only', 'tertulia')()) }}
{%- endmacro %}

{% macro default__hash_joins_only() -%}
{%- endmacro %}

{% macro postgres__hash_joins_only() -%}
    set local enable_nestloop = off; set local enable_mergejoin = off
{%- endmacro %}

{#
  Every model's pre-hook (dbt_project.yml): on PostgreSQL, no JIT compilation for the rest of the
  model's transaction (`set local`). The planner's costs come from row guesses, and past the first CTE
  (no statistics) they are guesses of billions of rows for queries that read thousands: far above
  `jit_above_cost` and `jit_optimize_above_cost`, so PostgreSQL compiled, inlined and optimised the
  expressions of every large model with LLVM before running it. In the steady cycle at 124k comments
  that was 15.7 s of fct_sla_events' 16.5 s (its query ran in under a second) and 5.9 s of
  int_crisis_hourly_baselines' 18.3 s (auto_explain's JIT timing; bench notes in docs/benchmarks.md).
  Nothing on DuckDB (an empty hook is skipped).
#}
{% macro no_jit() -%}
    {{ return(adapter.dispatch('no_jit', 'tertulia')()) }}
{%- endmacro %}

{% macro default__no_jit() -%}
{%- endmacro %}

{% macro postgres__no_jit() -%}
    set local jit = off
{%- endmacro %}

{#
  Per row of `series` (platform, account_id, created_at, hour_at, messages, changed_at; one row per
  platform, account and instant), the messages of its platform and account written in the `minutes`
  up to its instant, both ends inclusive: window_count, with platform, account_id, hour_at and
  changed_at. int_crisis_volume_rolling explains the choice. Platform and account are never null (tested
  on int_crisis_comments), so equality pairs the rows of one series.
#}
{% macro trailing_window_count(series, minutes) -%}
    {{ return(adapter.dispatch('trailing_window_count', 'tertulia')(series, minutes)) }}
{%- endmacro %}

{#- DuckDB: the running total up to the instant less the running total up to the last instant more
    than `minutes` before it (an ASOF join finds that instant): one sort per series. A RANGE frame
    evaluated per row cost three times the CPU at 10M comments. -#}
{% macro default__trailing_window_count(series, minutes) -%}
    with running as (
        select
            s.platform,
            s.account_id,
            s.created_at,
            s.hour_at,
            s.changed_at,
            sum(s.messages) over (
                partition by s.platform, s.account_id
                order by s.created_at
                rows between unbounded preceding and current row
            ) as running_total
        from {{ series }} as s
    )

    select
        r.platform,
        r.account_id,
        r.hour_at,
        r.changed_at,
        r.running_total - coalesce(b.running_total, 0) as window_count
    from running as r
    asof left join running as b
        on r.platform = b.platform
        and r.account_id = b.account_id
        and r.created_at - interval '{{ minutes }} minutes' > b.created_at
{%- endmacro %}

{% macro postgres__trailing_window_count(series, minutes) -%}
    select
        s.platform,
        s.account_id,
        s.hour_at,
        s.changed_at,
        sum(s.messages) over (
            partition by s.platform, s.account_id
            order by s.created_at
            range between interval '{{ minutes }} minutes' preceding and current row
        ) as window_count
    from {{ series }} as s
{%- endmacro %}
