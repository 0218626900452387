{#
  Raw timestamps are ISO 8601 text. With an offset (Z, +01:00, -0500) they are exact; without one
  they are wall-clock time in the community's timezone (the bundle contract says so). Either way the
  result is a UTC timestamp without zone, the convention of every model below staging.
#}
{% macro parse_ts(col) -%}
    {{ return(adapter.dispatch('parse_ts', 'tertulia')(col)) }}
{%- endmacro %}

{% macro default__parse_ts(col) -%}
    case
        when nullif(trim({{ col }}), '') is null then null
        when regexp_matches(trim({{ col }}), '[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)$')
            then cast(timezone('UTC', try_cast(trim({{ col }}) as timestamptz)) as timestamp)
        else cast(timezone('UTC', timezone('{{ var("community_timezone") }}', try_cast(trim({{ col }}) as timestamp))) as timestamp)
    end
{%- endmacro %}

{# PostgreSQL has no try_cast: the text is cast by the functions create_portable_functions() (macros/portable.sql) installs
   (null where DuckDB's try_cast gives null). They take ISO 8601 only, as DuckDB does, so PostgreSQL's
   wider input syntax ('now', 'yesterday', month names) never turns a bad record into a time. #}
{% macro postgres__parse_ts(col) -%}
    case
        when nullif(trim({{ col }}), '') is null then null
        when trim({{ col }}) ~ '[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)$'
            then cast(timezone('UTC', {{ target.schema }}.tertulia_try_timestamptz(trim({{ col }}))) as timestamp)
        else cast(timezone('UTC', timezone('{{ var("community_timezone") }}', {{ target.schema }}.tertulia_try_timestamp(trim({{ col }})))) as timestamp)
    end
{%- endmacro %}

{# A UTC timestamp shown as wall-clock time in the community's timezone. #}
{% macro to_local(col) -%}
    {{ return(adapter.dispatch('to_local', 'tertulia')(col)) }}
{%- endmacro %}

{% macro default__to_local(col) -%}
    cast(timezone('{{ var("community_timezone") }}', timezone('UTC', {{ col }})) as timestamp)
{%- endmacro %}

{# The instant a run evaluates status at: var('as_of') when a unit test pins it, else the
   TERTULIA_AS_OF environment variable (how tertulia.dbt_runner passes a pinned instant), else now
   (UTC). The variable is read only when executing: a value that changes every run, read at parse
   time (or passed with --vars), makes dbt re-parse every model that calls this macro on every run. #}
{% macro as_of() -%}
    {%- set pinned = var('as_of') or (env_var('TERTULIA_AS_OF', '') if execute else '') -%}
    {%- if pinned != '' -%}
        cast('{{ pinned }}' as timestamp)
    {%- else -%}
        cast(timezone('UTC', current_timestamp) as timestamp)
    {%- endif -%}
{%- endmacro %}
