"""Publish the marts for BI tools: a read-only DuckDB copy and one Parquet file per mart.

DuckDB allows one writer or many readers per file, never both, so a BI tool must never hold the
pipeline's warehouse open. After each successful build the pipeline calls `publish_marts`, which
copies every table of schema `marts` into

- `<publish_dir>/tertulia_marts.duckdb` (tables in its default schema), and
- `<publish_dir>/parquet/<mart>.parquet`,

each written under a temporary name in the same folder, fsynced, then swapped in with `os.replace`.
Both carry the same column types (UTC instants as TIMESTAMPTZ, wall-clock `*_local` columns as TIMESTAMP,
counts as BIGINT: `published_expr`), and the DuckDB file carries each mart's and column's description
from the dbt documentation as COMMENT ON, which BI tools show next to the fields.
On POSIX a reader that opened the old file keeps reading that inode (a consistent old snapshot)
and the next connection opens the new one; nobody ever sees a half-written file.

Member identifiers (author ids and member keys) are replaced by a keyed hash (HMAC-SHA256, secret
from the environment variable `members.hash_secret_env`, or a random secret generated once and kept in
the warehouse table `tertulia.settings`) unless `members.pseudonymize: false`; display names are left
out unless `members.publish_names: true`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tertulia import warehouse
from tertulia.config import Config
from tertulia.schema import ensure_state

DATABASE_NAME = "tertulia_marts.duckdb"
PARQUET_FOLDER = "parquet"
SECRET_SETTING = "member_hash_secret"
# Hex characters kept of each HMAC: 80 bits, far beyond collisions for any community's member count,
# and short enough to read in a BI table.
HASH_CHARS = 20
STORAGE_VERSION = "v1.0.0"


class PublishError(RuntimeError):
    """Publishing failed; the previous published copy is still in place."""


@dataclass
class PublishReport:
    database_path: Path
    parquet_dir: Path
    published_at: dt.datetime
    rows: dict[str, int] = field(default_factory=dict)  # mart -> rows published
    hashed_columns: dict[str, list[str]] = field(default_factory=dict)
    dropped_columns: dict[str, list[str]] = field(default_factory=dict)
    secret_source: str = ""  # env | warehouse | generated | none (never the secret itself)

    @property
    def marts(self) -> list[str]:
        return sorted(self.rows)


def is_member_id_column(name: str) -> bool:
    """Columns holding a community member's platform identity.

    Marts name them `author_id`, `member_key` or `member_id` (fct_sla_events: the item's author); team
    members appear as `<role>_member_id` (owner_member_id, responder_member_id) and stay readable.
    """
    return name in ("member_key", "member_id") or name.endswith("author_id")


def is_member_name_column(name: str) -> bool:
    return name in ("member_name", "author_handle") or name.endswith("author_name")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; some filesystems refuse fsync on a directory, which is harmless.
    with contextlib.suppress(OSError):
        _fsync_file(path)


def _swap_in(tmp: Path, final: Path) -> None:
    _fsync_file(tmp)
    os.replace(tmp, final)
    _fsync_dir(final.parent)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def member_hash_secret(con: duckdb.DuckDBPyConnection, config: Config) -> tuple[bytes, str]:
    """The HMAC key and where it came from. Never log or return it anywhere else."""
    env_value = os.environ.get(config.members.hash_secret_env)
    if env_value:
        return env_value.encode(), "env"
    ensure_state(con, "settings")
    row = con.execute("select value from tertulia.settings where key = ?", [SECRET_SETTING]).fetchone()
    if row:
        return str(row[0]).encode(), "warehouse"
    value = secrets.token_hex(32)
    con.execute(
        "insert into tertulia.settings values (?, ?, cast(timezone('UTC', current_timestamp) as timestamp))",
        [SECRET_SETTING, value],
    )
    return value.encode(), "generated"


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """RFC 2104 inner and outer pads, so DuckDB's sha256 can compute the HMAC inside the copy query."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def pseudonym(value: str, key: bytes) -> str:
    """The published pseudonym of `value` (same as the SQL expression computes), for tests and lookups."""
    import hmac

    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:HASH_CHARS]


def _hash_expr(column: str) -> str:
    # HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)); the pads come from the temp table _pads.
    col = _quote(column)  # a catalog column name, quoted; the key itself is a bound parameter in _pads
    return (
        f"case when {col} is null then null else left(sha256((select opad from _pads) || "  # noqa: S608
        f"unhex(sha256((select ipad from _pads) || encode(cast({col} as varchar))))), {HASH_CHARS}) end"
    )


def _mart_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = current_database() and table_schema = 'marts' and table_type = 'BASE TABLE' "
        "order by table_name"
    ).fetchall()
    return [r[0] for r in rows]


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() and table_schema = 'marts' and table_name = ? "
        "order by ordinal_position",
        [table],
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def is_local_time_column(name: str) -> bool:
    """Marts hold UTC timestamps, except the community's wall-clock columns (`*_local`, `local_*`)."""
    return "local" in name


def published_expr(column: str, data_type: str) -> str:
    """The column as BI tools get it, with one type in the DuckDB file and in Parquet.

    - A UTC timestamp becomes TIMESTAMPTZ: the DuckDB file and Parquet (isAdjustedToUTC) both mark it as an
      instant, so a BI tool shows it in its own zone instead of guessing. Wall-clock columns stay TIMESTAMP:
      13:00 local is 13:00 whatever the reader's zone.
    - HUGEINT (what DuckDB's sum of integers returns) becomes BIGINT: Parquet has no 128-bit integer and
      would write a double, and most BI drivers read neither.
    """
    col = _quote(column)
    if data_type == "TIMESTAMP" and not is_local_time_column(column):
        return f"timezone('UTC', {col}) as {col}"
    if data_type == "HUGEINT":
        return f"cast({col} as bigint) as {col}"
    return col


def mart_docs(config: Config) -> dict[str, tuple[str, dict[str, str]]]:
    """Each mart's description and its columns' descriptions from dbt's manifest ({} before a build)."""
    manifest = config.dbt_work_dir / "target" / "manifest.json"
    try:
        nodes = json.loads(manifest.read_text(encoding="utf-8")).get("nodes", {})
    except (OSError, ValueError):
        return {}
    docs: dict[str, tuple[str, dict[str, str]]] = {}
    for node in nodes.values():
        if node.get("resource_type") == "model" and node.get("schema") == "marts":
            columns = {c: (d.get("description") or "").strip() for c, d in node.get("columns", {}).items()}
            docs[node["name"]] = ((node.get("description") or "").strip(), columns)
    return docs


def _literal(text: str) -> str:
    # COMMENT ON takes a literal, not a parameter; the text is the project's own model documentation.
    return "'" + " ".join(text.split()).replace("'", "''") + "'"


def _comment(con: duckdb.DuckDBPyConnection, mart: str, docs: tuple[str, dict[str, str]] | None) -> None:
    if not docs:
        return
    description, columns = docs
    table = f"pub.main.{_quote(mart)}"
    if description:
        con.execute(f"comment on table {table} is {_literal(description)}")
    # identifiers come from the warehouse catalog and are quoted
    published = {r[0] for r in con.execute(f"select column_name from (describe {table})").fetchall()}  # noqa: S608
    for column, text in columns.items():
        if text and column in published:
            con.execute(f"comment on column {table}.{_quote(column)} is {_literal(text)}")


def _remove_leftovers(publish_dir: Path, parquet_dir: Path) -> None:
    """Temp files of a publish that was killed half-way: never visible to readers, safe to delete."""
    for folder in (publish_dir, parquet_dir):
        for p in folder.glob(".*.tmp*"):
            with contextlib.suppress(OSError):
                p.unlink()


def publish_refusal(config: Config) -> str:
    """Why nothing is published from a PostgreSQL warehouse (the publish step's error, the run's note)."""
    return (
        f"the warehouse is PostgreSQL ({config.warehouse_location}): BI tools read the marts where they "
        "are (schema marts), through a read-only role (docs/bi.md, 'PostgreSQL'); nothing is copied"
    )


def publish_marts(config: Config) -> PublishReport:
    """Copy every table in schema `marts` to the published DuckDB file and Parquet folder, atomically.

    The caller holds the warehouse's writer lock and has closed its own connection (the pipeline does).
    On PostgreSQL there is nothing to publish: BI reads the marts on the server, as a read-only role.
    """
    if config.on_postgres:
        raise PublishError(publish_refusal(config))
    publish_dir = config.publish_dir
    parquet_dir = publish_dir / PARQUET_FOLDER
    parquet_dir.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(publish_dir, parquet_dir)
    final_db = publish_dir / DATABASE_NAME
    tmp_db = publish_dir / f".{DATABASE_NAME}.{os.getpid()}.tmp"
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    report = PublishReport(database_path=final_db, parquet_dir=parquet_dir, published_at=now)

    con = warehouse.connect(config.warehouse_path)
    tmp_parquets: dict[str, Path] = {}
    try:
        marts = _mart_tables(con)
        if not marts:
            raise PublishError(
                f"{config.warehouse_path}: schema `marts` has no tables; run `tertulia build` before publishing"
            )
        pseudonymize = config.members.pseudonymize
        if pseudonymize:
            key, report.secret_source = member_hash_secret(con, config)
            ipad, opad = hmac_pads(key)
            con.execute("create or replace temp table _pads (ipad blob, opad blob)")
            con.execute("insert into _pads values (?, ?)", [ipad, opad])
        else:
            report.secret_source = "none"

        # Storage format of DuckDB 1.0: BI drivers bundle older DuckDB releases than the pipeline's 2.0,
        # and a 1.x reader refuses a file in 2.0's default format.
        con.execute(
            f"attach '{tmp_db.as_posix().replace(chr(39), chr(39) * 2)}' as pub "
            f"(storage_version '{STORAGE_VERSION}')"
        )
        try:
            docs = mart_docs(config)
            for mart in marts:
                select_list: list[str] = []
                for col, data_type in _columns(con, mart):
                    if is_member_name_column(col) and not config.members.publish_names:
                        report.dropped_columns.setdefault(mart, []).append(col)
                        continue
                    if is_member_id_column(col) and pseudonymize:
                        select_list.append(f"{_hash_expr(col)} as {_quote(col)}")
                        report.hashed_columns.setdefault(mart, []).append(col)
                    else:
                        select_list.append(published_expr(col, data_type))
                # identifiers come from the warehouse catalog and are quoted; no member text is in the SQL
                con.execute(
                    f"create table pub.main.{_quote(mart)} as "  # noqa: S608
                    f"select {', '.join(select_list)} from marts.{_quote(mart)}"
                )
                report.rows[mart] = con.execute(f"select count(*) from pub.main.{_quote(mart)}").fetchone()[0]  # noqa: S608
                _comment(con, mart, docs.get(mart))
                tmp_pq = parquet_dir / f".{mart}.parquet.{os.getpid()}.tmp"
                con.execute(
                    f"copy pub.main.{_quote(mart)} to '{tmp_pq.as_posix().replace(chr(39), chr(39) * 2)}' "
                    "(format parquet, compression zstd)"
                )
                tmp_parquets[mart] = tmp_pq
            # The community's zone travels with the data: `*_local` columns are wall-clock times in it, and a
            # dashboard labels them with it (BI tools cannot read community.yml).
            con.execute(
                "create table pub.main.published_marts (mart varchar, row_count bigint, published_at timestamp,"
                " community_name varchar, timezone varchar)"
            )
            con.executemany(
                "insert into pub.main.published_marts values (?, ?, ?, ?, ?)",
                [
                    (m, n, now, config.community.name, config.community.timezone)
                    for m, n in sorted(report.rows.items())
                ],
            )
            con.execute("checkpoint pub")
        finally:
            con.execute("detach pub")
    except Exception:
        with contextlib.suppress(OSError):
            tmp_db.unlink()
        for p in tmp_parquets.values():
            with contextlib.suppress(OSError):
                p.unlink()
        raise
    finally:
        con.close()

    wal = tmp_db.with_name(tmp_db.name + ".wal")
    if wal.exists():  # checkpointed above; a leftover WAL must not travel with the new file
        wal.unlink()
    _swap_in(tmp_db, final_db)
    for mart, tmp_pq in tmp_parquets.items():
        _swap_in(tmp_pq, parquet_dir / f"{mart}.parquet")
    # A mart removed from the project should not linger as a stale Parquet file.
    for old in parquet_dir.glob("*.parquet"):
        if old.stem not in report.rows:
            old.unlink()
    return report
