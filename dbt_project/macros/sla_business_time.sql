{#
  Business-time arithmetic over int_sla_business_intervals (opening spans in UTC with the open
  seconds before each span). "Open time before t" is a running total, so business time between
  a and b is open_before(b) - open_before(a), and a deadline is the instant where the running total
  reaches open_before(arrival) + target: two range joins, no per-item loop over the calendar.
#}

{# Whole seconds between two timestamps, portable. Business arithmetic runs on integer seconds so that
   business and calendar durations of the same span are exactly equal, not off by float dust. #}
{% macro sla_seconds_between(start_ts, end_ts) -%}
    {{ dbt.datediff(start_ts, end_ts, 'second') }}
{%- endmacro %}

{# Seconds between two timestamps as minutes (fractional). #}
{% macro sla_minutes_between(start_ts, end_ts) -%}
    ({{ sla_seconds_between(start_ts, end_ts) }} / 60.0)
{%- endmacro %}

{# Join predicate: span `iv` is the last one opening at or before `ts` (its next span opens after ts). #}
{% macro sla_span_containing_or_before(iv, ts) -%}
    {{ iv }}.open_at <= {{ ts }} and ({{ iv }}.next_open_at is null or {{ ts }} < {{ iv }}.next_open_at)
{%- endmacro %}

{# The UTC day under which the span containing-or-before `ts` is listed (fct_sla_events' span_days):
   its own day, or the last span's day for an instant after the last opening (the last span's
   coverage has no end). `ce` is the one-row calendar_end. #}
{% macro sla_lookup_day(ts, ce) -%}
    case when {{ ts }} >= {{ ce }}.last_open_at then {{ ce }}.last_open_day else {{ dbt.date_trunc('day', ts) }} end
{%- endmacro %}

{# Open seconds of the calendar before `ts`, given the span `iv` joined with the predicate above. #}
{% macro sla_open_seconds_before(iv, ts) -%}
    coalesce(
        {{ iv }}.seconds_before
        + least({{ iv }}.open_seconds, greatest(0, {{ sla_seconds_between(iv ~ '.open_at', ts) }})),
        0
    )
{%- endmacro %}

{# Join predicate: span `iv` is where the running total of open seconds reaches `total`. #}
{% macro sla_span_reaching(iv, total) -%}
    {{ total }} > {{ iv }}.seconds_before and {{ total }} <= {{ iv }}.seconds_before + {{ iv }}.open_seconds
{%- endmacro %}

{# The instant within span `iv` where the running total reaches `total` (whole seconds). #}
{% macro sla_instant_reaching(iv, total) -%}
    {{ dbt.dateadd('second', 'cast(' ~ total ~ ' - ' ~ iv ~ '.seconds_before as bigint)', iv ~ '.open_at') }}
{%- endmacro %}
{# Status of an item as of `as_of()`: the one rule, used by the model and by the post-hook refresh. #}
{% macro sla_status(first_response_at, sla_breach_at, at_risk_at) -%}
    case
        when {{ first_response_at }} is not null then
            case when {{ sla_breach_at }} is null or {{ first_response_at }} <= {{ sla_breach_at }}
                then 'met' else 'breached' end
        when {{ sla_breach_at }} is not null and {{ as_of() }} >= {{ sla_breach_at }} then 'breached'
        when {{ at_risk_at }} is not null and {{ as_of() }} >= {{ at_risk_at }} then 'at_risk'
        else 'pending'
    end
{%- endmacro %}

{#
  Unanswered items change status with time alone (pending -> at_risk -> breached) even when no new
  comment touches their thread, so every run re-evaluates them in place. Only rows whose status can
  still move are rewritten: unanswered, with a deadline, not yet breached (a breach is final until a
  reply reaches the thread, and that reply rebuilds the row). So the cost is the items waiting now,
  not every unanswered item of history.
#}
{% macro sla_refresh_open_status() -%}
    update {{ this }}
    set status = {{ sla_status('first_response_at', 'sla_breach_at', 'at_risk_at') }},
        is_breached = ({{ sla_status('first_response_at', 'sla_breach_at', 'at_risk_at') }} = 'breached'),
        evaluated_at = {{ as_of() }}
    where first_response_at is null and sla_breach_at is not null and status <> 'breached'
{%- endmacro %}

{#
  Local days agg_response_times_daily recomputes in an incremental run: those holding an item that
  fct_sla_events (re)computed or re-evaluated at or after this table's last build (`evaluated_at` is
  the as_of of the run that last wrote the row). Used by the model and its pre-hook, so both see one
  set; the pre-hook's delete can only widen the model's set (harmless: delete+insert on the key).
#}
{% macro sla_response_days_to_recompute(events, target) -%}
    {#- a table built before built_as_of existed: every day, once (the column is then added) -#}
    {%- set columns = adapter.get_columns_in_relation(target) | map(attribute='name') | list -%}
    select distinct cast({{ to_local('arrived_at') }} as date) as local_date
    from {{ events }}
    {% if 'built_as_of' in columns -%}
    where evaluated_at >= (select coalesce(max(built_as_of), cast('1900-01-01' as timestamp)) from {{ target }})
    {%- endif %}
{%- endmacro %}

{#
  Threads fct_sla_events recomputes in an incremental run: those whose turns hold a message that
  landed or was scored since the mart's last load (`batch_loaded_through`, the newest landing or
  scoring time its last build had seen), less reload_margin_minutes. Landing and scoring times are
  stamped by this pipeline under its writer lock, so they only grow. Used by the mart's pre-hook and
  its select: both read the watermark from the mart itself ({{ this }}), nothing behind dbt's back.
  The watermark is read once, as a literal (sla_events_loaded_through), so the time filter prunes the
  turns' row groups by their min/max, and the pre-hook and the select recompute the same threads.
#}
{% macro sla_threads_to_recompute(turns, events) -%}
    select distinct t.thread_key
    from {{ turns }} as t
    where t.changed_at > {{ sla_events_loaded_through(events) }} - interval '{{ var('reload_margin_minutes') | int }} minute'
{%- endmacro %}

{#
  The mart's watermark (the newest batch_loaded_through it holds) as a timestamp literal, read when
  the model compiles: the select is compiled before the pre-hook deletes the recomputed threads' rows
  (which hold the newest stamps), so the pre-hook and the select see the same value and recompute
  the same threads. Before dbt executes (parsing), the scalar subquery stands in: never run.
#}
{% macro sla_events_loaded_through(events) -%}
    {%- set query -%}
        select coalesce(max(e.batch_loaded_through), cast('1900-01-01' as timestamp)) from {{ events }} as e
    {%- endset -%}
    {%- if execute -%}
        cast('{{ run_query(query).columns[0].values()[0] }}' as timestamp)
    {%- else -%}
        ({{ query }})
    {%- endif -%}
{%- endmacro %}

{#
  Every turn (int_sla_thread_turns row) of the threads `threads` (a query of thread_key) lists, for
  fct_sla_events' incremental run. On DuckDB, which has no index, a filter on thread_key reads the
  key column of every turn and then the wide columns (texts included) of every row it keeps until
  the join drops them; so the threads' rows are found by their key column alone, and then read again
  by row id. int_sla_thread_turns writes a touched thread's messages back at the end of the table, so
  those row ids are few and recent: DuckDB prunes the re-read to the row groups between the lowest and
  the highest (at 10M comments, from 12M rows read in full to the last few thousand). PostgreSQL
  filters on the key.
#}
{% macro sla_turns_of_threads(turns, threads) -%}
    {{ return(adapter.dispatch('sla_turns_of_threads', 'tertulia')(turns, threads)) }}
{%- endmacro %}

{% macro default__sla_turns_of_threads(turns, threads) -%}
    select t.*
    from {{ turns }} as t
    where t.rowid in (
        select k.rowid from {{ turns }} as k where k.thread_key in ({{ threads }})
    )
{%- endmacro %}

{% macro postgres__sla_turns_of_threads(turns, threads) -%}
    select t.*
    from {{ turns }} as t
    where t.thread_key in ({{ threads }})
{%- endmacro %}
