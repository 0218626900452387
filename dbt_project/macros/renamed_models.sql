{# Models renamed in the project: dbt never drops a relation whose model is gone, and the publish step
   copies every table of `marts`, so an old name would stay published, frozen at its last build, next to
   the new one. Run before every invocation (on-run-start, dbt_project.yml); docs/bi.md lists the
   renames for the people whose dashboards read the old names. #}
{% macro drop_renamed_models() -%}
    {%- set renamed = [('marts', 'fct_engagement_daily')] -%}
    {%- if execute -%}
        {%- for schema, name in renamed -%}
            {%- set old = adapter.get_relation(database=target.database, schema=schema, identifier=name) -%}
            {%- if old is not none -%}
                {%- do adapter.drop_relation(old) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
