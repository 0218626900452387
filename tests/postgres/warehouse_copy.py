"""Copy tables of a DuckDB warehouse into PostgreSQL in bulk: each table exported by DuckDB's CSV writer
and loaded with PostgreSQL's COPY FROM STDIN (psycopg2 `copy_expert`), never row by row.

Used by the mart-equality test to give dbt on PostgreSQL the very raw and config tables the DuckDB build
read. Column types follow DuckDB's; a type not mapped here is an error naming the table and column, not
a silent text column.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import duckdb

# DuckDB type -> PostgreSQL type (as PostgreSQL's format_type() spells it, so an existing table's
# columns compare), for the types the raw contract and the config tables use.
PG_TYPES = {
    "VARCHAR": "text",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp without time zone",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "JSON": "jsonb",
}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def pg_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    if not rows:
        raise LookupError(f"{schema}.{table}: no such table in the DuckDB warehouse")
    out = []
    for column, duck_type in rows:
        if duck_type not in PG_TYPES:
            raise TypeError(
                f"{schema}.{table}.{column}: DuckDB type {duck_type} has no PostgreSQL type in "
                "tests/postgres/warehouse_copy.py PG_TYPES; add one"
            )
        out.append((column, PG_TYPES[duck_type]))
    return out


def _existing_columns(cur, schema: str, table: str) -> list[tuple[str, str]]:
    cur.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
        "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped "
        "order by a.attnum",
        [schema, table],
    )
    return [(c, t) for c, t in cur.fetchall()]


def copy_tables(duckdb_path: Path, pg_con, tables: list[tuple[str, str]]) -> dict[str, int]:
    """(schema, table) pairs from the DuckDB file into PostgreSQL, replacing their rows in one
    transaction; rows copied per table.

    A table already there is emptied and refilled, not dropped: dbt's staging views depend on it, and
    PostgreSQL (unlike DuckDB) refuses to drop a table a view reads. Its columns must be DuckDB's.
    CSV carries NULL as an unquoted empty field and an empty string as `""` (DuckDB's writer quotes
    empty strings), which is how PostgreSQL's CSV COPY tells them apart."""
    copied: dict[str, int] = {}
    tmp = tempfile.mkdtemp(prefix="tertulia-pgcopy-")
    duck = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        for schema, table in tables:
            columns = pg_columns(duck, schema, table)
            target = f"{_quote(schema)}.{_quote(table)}"
            csv_path = Path(tmp) / f"{schema}.{table}.csv"
            duck.execute(
                f"copy (select * from {_quote(schema)}.{_quote(table)}) to '{csv_path}' (format csv, header)"  # noqa: S608
            )
            with pg_con.cursor() as cur:
                cur.execute(f"create schema if not exists {_quote(schema)}")
                existing = _existing_columns(cur, schema, table)
                if not existing:
                    cur.execute(
                        f"create table {target} ({', '.join(f'{_quote(c)} {t}' for c, t in columns)})"
                    )
                elif existing != columns:
                    raise ValueError(
                        f"{schema}.{table}: PostgreSQL has columns {existing}, the DuckDB warehouse "
                        f"{columns}; drop the PostgreSQL table (and the dbt views on it) and copy again"
                    )
                else:
                    cur.execute(f"truncate {target}")
                with csv_path.open(encoding="utf-8") as fh:
                    cur.copy_expert(f"copy {target} from stdin with (format csv, header true)", fh)
                copied[f"{schema}.{table}"] = cur.rowcount
        pg_con.commit()
    finally:
        duck.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return copied
