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
    # json, not jsonb: json keeps the text as written, and the landing compares JSON as text (a quarantined
    # record already held, a row's extra columns); jsonb would reorder keys and respace it.
    "JSON": "json",
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


def ensure_pg_table(
    duck: duckdb.DuckDBPyConnection, cur, schema: str, table: str, *, key: list[str] | None = None
) -> str:
    """Create `schema.table` on PostgreSQL like the DuckDB table (PG_TYPES, its primary key, or `key`
    when DuckDB has none) unless it exists with the same columns; the quoted name.

    The one place a PostgreSQL table's DDL comes from: the DuckDB DDL (tertulia/schema.py,
    tertulia/raw_schema.py) run first, then read back from DuckDB's catalog, so the two never drift."""
    columns = pg_columns(duck, schema, table)
    target = f"{_quote(schema)}.{_quote(table)}"
    cur.execute(f"create schema if not exists {_quote(schema)}")
    existing = _existing_columns(cur, schema, table)
    if not existing:
        defs = [f"{_quote(c)} {t}" for c, t in columns]
        primary = _primary_key(duck, schema, table) or key or []
        if primary:
            defs.append(f"primary key ({', '.join(_quote(c) for c in primary)})")
        cur.execute(f"create table {target} ({', '.join(defs)})")
    elif existing != columns:
        raise ValueError(
            f"{schema}.{table}: PostgreSQL has columns {existing}, the DuckDB warehouse "
            f"{columns}; drop the PostgreSQL table (and the dbt views on it) and copy again"
        )
    return target


def _export_csv(duck: duckdb.DuckDBPyConnection, select_sql: str, path: Path, params=None) -> None:
    """DuckDB's CSV writer: NULL is an unquoted empty field, an empty string `""`, which is how
    PostgreSQL's CSV COPY tells them apart. `path` is ours (a temporary folder), never built from data."""
    duck.execute(f"copy ({select_sql}) to '{path}' (format csv, header)", params or [])


def replace_tables(
    duck: duckdb.DuckDBPyConnection,
    pg_con,
    tables: list[tuple[str, str]],
    workdir: Path,
    *,
    empty: str | None = "truncate",
) -> dict[str, int]:
    """Replace the rows of each (schema, table) on PostgreSQL with the DuckDB table's, by COPY, in
    the caller's transaction (not committed here); rows copied per table.

    `empty`: "truncate" (fast for a whole warehouse; readers of the table wait for the commit),
    "delete" (for the small tables an import replaces: BI and dbt keep reading the old rows until the
    commit instead of waiting), or None: the rows are added to what the table holds."""
    copied: dict[str, int] = {}
    for schema, table in tables:
        csv_path = Path(workdir) / f"replace-{len(copied)}.csv"
        target = f"{_quote(schema)}.{_quote(table)}"
        _export_csv(duck, f"select * from {target}", csv_path)  # noqa: S608 - names from the catalog
        with pg_con.cursor() as cur:
            ensure_pg_table(duck, cur, schema, table)
            if empty is not None:
                cur.execute(f"truncate {target}" if empty == "truncate" else f"delete from {target}")  # noqa: S608
            with csv_path.open(encoding="utf-8") as fh:
                cur.copy_expert(f"copy {target} from stdin with (format csv, header true)", fh)
            copied[f"{schema}.{table}"] = cur.rowcount
    return copied


def upsert_rows(
    duck: duckdb.DuckDBPyConnection,
    pg_con,
    schema: str,
    table: str,
    key: list[str],
    where_sql: str,
    params: list,
    workdir: Path,
) -> int:
    """The DuckDB table's rows matching `where_sql` written to PostgreSQL: COPY into a temporary
    table, then one INSERT ... ON CONFLICT (key) DO UPDATE, in the caller's transaction; rows written.

    The rows are the ones DuckDB's merge chose (new keys, newer versions), so a row on the server with
    the same key is replaced by it. A unique index on `key` is created if the table has none (a table
    `tertulia migrate` made from a warehouse whose raw tables carry no primary key)."""
    target = f"{_quote(schema)}.{_quote(table)}"
    csv_path = Path(workdir) / f"upsert-{schema}.{table}.csv"  # catalog names, never data
    _export_csv(duck, f"select * from {target} where {where_sql}", csv_path, params)  # noqa: S608
    columns = [c for c, _ in pg_columns(duck, schema, table)]
    keys = ", ".join(_quote(k) for k in key)
    with pg_con.cursor() as cur:
        ensure_pg_table(duck, cur, schema, table, key=key)
        if not _has_unique_index(cur, target, key):
            cur.execute(f"create unique index {_quote(table + '_key')} on {target} ({keys})")
        cur.execute(f"create temp table _tertulia_upsert (like {target}) on commit drop")
        with csv_path.open(encoding="utf-8") as fh:
            cur.copy_expert("copy _tertulia_upsert from stdin with (format csv, header true)", fh)
        others = [c for c in columns if c not in key]
        update = ", ".join(f"{_quote(c)} = excluded.{_quote(c)}" for c in others)
        cur.execute(
            f"insert into {target} select * from _tertulia_upsert "  # noqa: S608 - names from the catalog
            f"on conflict ({keys}) do " + (f"update set {update}" if update else "nothing")
        )
        written = cur.rowcount
        cur.execute("drop table _tertulia_upsert")
    return written


def _has_unique_index(cur, target: str, key: list[str]) -> bool:
    """Whether a unique index (a primary key is one) covers exactly the `key` columns."""
    cur.execute(
        "select count(*) from pg_index i where i.indrelid = %s::regclass and i.indisunique "
        "and (select array_agg(a.attname::text order by a.attname) from pg_attribute a "
        "where a.attrelid = i.indrelid and a.attnum = any(i.indkey)) = %s",
        [target, sorted(key)],
    )
    return cur.fetchone()[0] > 0


def pull_tables(
    pg_con, duck: duckdb.DuckDBPyConnection, tables: list[tuple[str, str]], workdir: Path
) -> None:
    """Fill each DuckDB (schema, table) with the PostgreSQL table's rows (COPY TO, then DuckDB's CSV
    reader with the DuckDB table's column types); a table the server does not have yet stays empty.

    JSON travels as the text PostgreSQL's `json` type keeps byte for byte, so what the landing
    compares as text (a quarantined record, a row's extra columns) reads back as it was written."""
    for n, (schema, table) in enumerate(tables):
        with pg_con.cursor() as cur:
            if not _existing_columns(cur, schema, table):
                continue
            columns = duck.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            names = ", ".join(_quote(c) for c, _ in columns)
            csv_path = Path(workdir) / f"pull-{n}.csv"
            with csv_path.open("w", encoding="utf-8") as fh:
                cur.copy_expert(
                    f"copy (select {names} from {_quote(schema)}.{_quote(table)}) to stdout "  # noqa: S608
                    "with (format csv, header true)",
                    fh,
                )
        types = ", ".join(f"{_lit(c)}: {_lit('VARCHAR' if t == 'JSON' else t)}" for c, t in columns)
        duck.execute(
            f"insert into {_quote(schema)}.{_quote(table)} ({names}) select {names} from "  # noqa: S608
            f"read_csv('{csv_path}', header = true, columns = {{{types}}}, allow_quoted_nulls = false, "
            "auto_detect = false)"
        )


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def copy_tables(
    duckdb_path: Path, pg_con, tables: list[tuple[str, str]], *, sequence_schemas: tuple[str, ...] = ()
) -> dict[str, int]:
    """(schema, table) pairs from the DuckDB file into PostgreSQL, replacing their rows in one
    transaction (committed at the end); rows copied per table."""
    tmp = tempfile.mkdtemp(prefix="tertulia-pgcopy-")
    duck = duckdb.connect(str(duckdb_path), read_only=True)
    warehouse.apply_resources(duck)
    try:
        copied = replace_tables(duck, pg_con, tables, Path(tmp))
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
        warehouse.apply_resources(duck)
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
