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

# the DuckDB -> PostgreSQL table definitions live with the tables (tertulia.schema): the state steps
# running on PostgreSQL create theirs the same way
from tertulia.schema import PG_TYPES, _existing_columns, _primary_key, _quote, ensure_pg_table, pg_columns  # noqa: F401

# The schemas the pipeline writes (DEVELOPERS.md, "Schemas"); staging, intermediate and marts are dbt's.
MIGRATED_SCHEMAS = ("raw", "config", "tertulia")


@dataclass
class MigrateReport:
    target: str
    rows: dict[str, int] = field(default_factory=dict)

    def render(self) -> str:
        lines = [f"Copied {len(self.rows)} tables ({sum(self.rows.values())} rows) to {self.target}:"]
        lines += [f"  {name}: {n} rows" for name, n in sorted(self.rows.items())]
        lines.append(
            "Run the pipeline there with TERTULIA_WAREHOUSE=<the URL> tertulia run (password in PGPASSWORD)."
        )
        return "\n".join(lines)


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
    where: dict[tuple[str, str], str] | None = None,
) -> dict[str, int]:
    """Replace the rows of each (schema, table) on PostgreSQL with the DuckDB table's, by COPY, in
    the caller's transaction (not committed here); rows copied per table.

    `empty`: "truncate" (fast for a whole warehouse; readers of the table wait for the commit),
    "delete" (for the small tables an import replaces: BI and dbt keep reading the old rows until the
    commit instead of waiting), or None: the rows are added to what the table holds. `where`: for a
    (schema, table) emptied by "delete", the condition of the rows deleted (the ones `pull_tables`
    copied with that condition; the others stay)."""
    copied: dict[str, int] = {}
    for schema, table in tables:
        csv_path = Path(workdir) / f"replace-{len(copied)}.csv"
        target = f"{_quote(schema)}.{_quote(table)}"
        _export_csv(duck, f"select * from {target}", csv_path)  # noqa: S608 - names from the catalog
        with pg_con.cursor() as cur:
            ensure_pg_table(duck, cur, schema, table)
            if empty is not None:
                condition = (where or {}).get((schema, table)) if empty == "delete" else None
                filtered = f" as t where {condition}" if condition else ""
                delete = f"delete from {target}{filtered}"  # noqa: S608 - names from the catalog
                cur.execute(f"truncate {target}" if empty == "truncate" else delete)
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
    pg_con,
    duck: duckdb.DuckDBPyConnection,
    tables: list[tuple[str, str]],
    workdir: Path,
    *,
    where: dict[tuple[str, str], str] | None = None,
) -> dict[str, int]:
    """Fill each DuckDB (schema, table) with the PostgreSQL table's rows (COPY TO, then DuckDB's CSV
    reader with the DuckDB table's column types); a table the server does not have yet stays empty.
    Rows copied per table.

    `where`: for a (schema, table), a PostgreSQL condition on its rows (alias `t`; SQL made by the
    caller, values bound by `bind`): only those rows are copied, which is how a step reads the part of
    history its batch needs instead of all of it (`matching`).

    JSON travels as the text PostgreSQL's `json` type keeps byte for byte, so what the landing
    compares as text (a quarantined record, a row's extra columns) reads back as it was written."""
    copied: dict[str, int] = {}
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
            condition = (where or {}).get((schema, table))
            filtered = f" where {condition}" if condition else ""
            csv_path = Path(workdir) / f"pull-{n}.csv"
            with csv_path.open("w", encoding="utf-8") as fh:
                cur.copy_expert(
                    f"copy (select {names} from {_quote(schema)}.{_quote(table)} as t{filtered}) to stdout "  # noqa: S608
                    "with (format csv, header true)",
                    fh,
                )
            copied[f"{schema}.{table}"] = cur.rowcount
        types = ", ".join(f"{_lit(c)}: {_lit('VARCHAR' if t == 'JSON' else t)}" for c, t in columns)
        duck.execute(
            f"insert into {_quote(schema)}.{_quote(table)} ({names}) select {names} from "  # noqa: S608
            f"read_csv('{csv_path}', header = true, columns = {{{types}}}, allow_quoted_nulls = false, "
            "auto_detect = false)"
        )
    return copied


def send_keys(
    duck: duckdb.DuckDBPyConnection, pg_con, duck_table: str, columns: tuple[str, ...], workdir: Path
) -> str:
    """The rows of a DuckDB temp table of text key columns, COPYed into a PostgreSQL temporary table
    of the same name (dropped at the commit) and analysed, for `matching`; its name."""
    csv_path = Path(workdir) / f"keys-{duck_table}.csv"  # names made by the caller, never data
    names = ", ".join(_quote(c) for c in columns)
    _export_csv(duck, f"select {names} from temp.{_quote(duck_table)}", csv_path)  # noqa: S608
    with pg_con.cursor() as cur:
        cur.execute(f"drop table if exists pg_temp.{_quote(duck_table)}")
        defs = ", ".join(f"{_quote(c)} text" for c in columns)
        cur.execute(f"create temp table {_quote(duck_table)} ({defs}) on commit drop")
        with csv_path.open(encoding="utf-8") as fh:
            cur.copy_expert(f"copy {_quote(duck_table)} from stdin with (format csv, header true)", fh)
        cur.execute(f"analyze {_quote(duck_table)}")  # a temp table has no statistics: the planner guesses
    return duck_table


def matching(keys_table: str, columns: tuple[str, ...]) -> str:
    """A `pull_tables` condition: the rows whose `columns` equal a row of the temp table `keys_table`."""
    same = " and ".join(f"k.{_quote(c)} = t.{_quote(c)}" for c in columns)
    return f"exists (select 1 from pg_temp.{_quote(keys_table)} as k where {same})"  # noqa: S608


def bind(pg_con, sql: str, params: list) -> str:
    """`sql` with its %s placeholders bound by the driver (psycopg2 quoting), for the SQL text a COPY
    takes: COPY has no parameters."""
    with pg_con.cursor() as cur:
        return cur.mogrify(sql, params).decode("utf-8")


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
