"""Move a DuckDB warehouse's own tables (raw, config and the tertulia state) to a PostgreSQL warehouse.

`tertulia migrate --to postgresql://...` copies every table of the schemas the pipeline writes (not the
dbt models: `tertulia build` with the PostgreSQL URL rebuilds them there). Bulk, never row by row: each
table is exported by DuckDB's CSV writer and loaded with PostgreSQL's COPY FROM STDIN (psycopg2
`copy_expert`), all tables in one PostgreSQL transaction, so a reader sees the old copy or the new one.

Column types follow DuckDB's (PG_TYPES); a type not mapped here is an error naming the table and column,
never a silent text column. Primary keys are carried over, so a key that identifies a row in DuckDB
does in PostgreSQL too, and so are the sequences (the outbox's ids continue where they stopped). A table already on the server is emptied and refilled, not dropped: dbt's
staging views depend on it, and PostgreSQL (unlike DuckDB) refuses to drop a table a view reads.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tertulia import warehouse

# The schemas the pipeline writes (DEVELOPERS.md, "Schemas"); staging, intermediate and marts are dbt's.
MIGRATED_SCHEMAS = ("raw", "config", "tertulia")

# DuckDB type -> PostgreSQL type (as PostgreSQL's format_type() spells it, so an existing table's
# columns compare), for the types the raw contract, the config tables and the state tables use.
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


@dataclass
class MigrateReport:
    target: str
    rows: dict[str, int] = field(default_factory=dict)

    def render(self) -> str:
        lines = [f"Copied {len(self.rows)} tables ({sum(self.rows.values())} rows) to {self.target}:"]
        lines += [f"  {name}: {n} rows" for name, n in sorted(self.rows.items())]
        lines.append(
            "Build the marts there with TERTULIA_WAREHOUSE=<the URL> tertulia build (password in PGPASSWORD)."
        )
        return "\n".join(lines)


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
                "tertulia/migrate.py PG_TYPES; add one"
            )
        out.append((column, PG_TYPES[duck_type]))
    return out


def _primary_key(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    row = con.execute(
        "select constraint_column_names from duckdb_constraints() "
        "where schema_name = ? and table_name = ? and constraint_type = 'PRIMARY KEY'",
        [schema, table],
    ).fetchone()
    return list(row[0]) if row else []


def warehouse_tables(
    con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = MIGRATED_SCHEMAS
) -> list[tuple[str, str]]:
    """(schema, table) of every base table (not view) in `schemas`, in a stable order."""
    marks = ", ".join("?" for _ in schemas)
    return [
        (s, t)
        for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables "  # noqa: S608 - placeholders only
            f"where table_type = 'BASE TABLE' and table_schema in ({marks}) order by 1, 2",
            list(schemas),
        ).fetchall()
    ]


def _existing_columns(cur, schema: str, table: str) -> list[tuple[str, str]]:
    cur.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
        "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped "
        "order by a.attnum",
        [schema, table],
    )
    return [(c, t) for c, t in cur.fetchall()]


def _copy_sequences(duck: duckdb.DuckDBPyConnection, cur, schemas: tuple[str, ...]) -> None:
    """The sequences of `schemas` (the outbox's ids), created if missing and set to where DuckDB's are,
    so an id handed out after the move never repeats one the copied rows hold."""
    if not schemas:
        return
    marks = ", ".join("?" for _ in schemas)
    rows = duck.execute(
        "select schema_name, sequence_name, start_value, increment_by, last_value from duckdb_sequences() "  # noqa: S608
        f"where schema_name in ({marks}) order by 1, 2",
        list(schemas),
    ).fetchall()
    for schema, name, start, step, last in rows:
        qualified = f"{_quote(schema)}.{_quote(name)}"
        cur.execute(
            f"create sequence if not exists {qualified} start with {int(start)} increment by {int(step)}"
        )
        # never used in DuckDB: the next value is its start; else the one after its last
        cur.execute(
            "select setval(%s, %s, %s)", [qualified, start if last is None else last, last is not None]
        )


def copy_tables(
    duckdb_path: Path, pg_con, tables: list[tuple[str, str]], *, sequence_schemas: tuple[str, ...] = ()
) -> dict[str, int]:
    """(schema, table) pairs from the DuckDB file into PostgreSQL, replacing their rows in one
    transaction (committed at the end); rows copied per table.

    CSV carries NULL as an unquoted empty field and an empty string as `""` (DuckDB's writer quotes
    empty strings), which is how PostgreSQL's CSV COPY tells them apart."""
    copied: dict[str, int] = {}
    tmp = tempfile.mkdtemp(prefix="tertulia-pgcopy-")
    duck = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        for schema, table in tables:
            columns = pg_columns(duck, schema, table)
            key = _primary_key(duck, schema, table)
            target = f"{_quote(schema)}.{_quote(table)}"
            csv_path = (
                Path(tmp) / f"{len(copied)}.csv"
            )  # not the table's name: a path is never built from data
            duck.execute(f"copy (select * from {target}) to '{csv_path}' (format csv, header)")  # noqa: S608
            with pg_con.cursor() as cur:
                cur.execute(f"create schema if not exists {_quote(schema)}")
                existing = _existing_columns(cur, schema, table)
                if not existing:
                    defs = [f"{_quote(c)} {t}" for c, t in columns]
                    if key:
                        defs.append(f"primary key ({', '.join(_quote(c) for c in key)})")
                    cur.execute(f"create table {target} ({', '.join(defs)})")
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
        with pg_con.cursor() as cur:
            _copy_sequences(duck, cur, sequence_schemas)
        pg_con.commit()
    except BaseException:
        pg_con.rollback()
        raise
    finally:
        duck.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return copied


def migrate(
    duckdb_path: Path, target: warehouse.PostgresWarehouse, *, wait_seconds: float = 60.0
) -> MigrateReport:
    """Copy the DuckDB warehouse's raw, config and tertulia tables to `target`.

    Both writer locks are held while copying: no run changes the file mid-copy, and none writes to
    the server while its tables are half replaced."""
    duckdb_path = Path(duckdb_path)
    if not duckdb_path.exists():
        raise FileNotFoundError(f"{duckdb_path}: no DuckDB warehouse to migrate; check warehouse.path")
    with (
        warehouse.writer_lock(duckdb_path, wait_seconds=wait_seconds, holder="migrate"),
        warehouse.writer_lock(target, wait_seconds=wait_seconds, holder="migrate"),
    ):
        duck = duckdb.connect(str(duckdb_path), read_only=True)
        try:
            tables = warehouse_tables(duck)
        finally:
            duck.close()
        pg = target.connect(application_name="tertulia migrate")
        try:
            rows = copy_tables(duckdb_path, pg, tables, sequence_schemas=MIGRATED_SCHEMAS)
        finally:
            pg.close()
    return MigrateReport(target=target.shown, rows=rows)
