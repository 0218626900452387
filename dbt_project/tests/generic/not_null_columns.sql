{#-
    dbt's not_null on several columns of one relation, in one node and one pass over the relation.

    One `not_null` per column made 438 nodes of the build's 561 tests: each a dbt node (about 30 ms
    of dbt's own CPU whatever the data) and each a scan of its relation, which over a staging view
    recomputes the view from the raw table every time. This test reads the relation once, with the
    columns' `is null` conditions or-ed in the filter (no row passes it on good data, so nothing is
    aggregated), and fails with one row per column that holds nulls: `column_name` and `null_rows`,
    the count a per-column `not_null` reported. A relation's rows and columns are all checked, as
    before. Portable: a values list, not an unpivot, names the columns (DuckDB and PostgreSQL).
-#}
{% test not_null_columns(model, columns) %}
with counted as (
    select
        {%- for c in columns %}
        sum(case when {{ c }} is null then 1 else 0 end) as nulls_{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
    where
        {%- for c in columns %}
        {{ "or " if not loop.first }}{{ c }} is null
        {%- endfor %}
),

per_column as (
    select
        named.column_name,
        case named.column_index
            {%- for c in columns %}
            when {{ loop.index }} then counted.nulls_{{ loop.index }}
            {%- endfor %}
        end as null_rows
    from counted
    cross join (
        values
        {%- for c in columns %}
            ({{ loop.index }}, '{{ c }}'){{ "," if not loop.last }}
        {%- endfor %}
    ) as named (column_index, column_name)
)

select
    per_column.column_name,
    per_column.null_rows
from per_column
where per_column.null_rows > 0
{% endtest %}
