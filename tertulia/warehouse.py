"""Where the warehouse is (a DuckDB file or a PostgreSQL server), access to it, and the one-writer rule.

DuckDB lets one process write a file or many read it, never both. Every Tertulia step that writes
(import, dbt build, alert outbox) takes `writer_lock` first, so two pipeline runs started at once
queue up (or the second gives up with a clear message) instead of failing half-way on DuckDB's own
lock. BI tools never open this file: they read the published copy (see tertulia.publish).

On PostgreSQL (`TERTULIA_WAREHOUSE` or `warehouse.url` set to a `postgresql://` URL) the same lock is
a PostgreSQL advisory lock held by a session of its own, so two hosts writing to one server queue up
the same way (docs/operations.md says which steps run there so far).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import duckdb

from tertulia import resources

SCHEMAS = ("raw", "tertulia")  # raw: landed data; tertulia: pipeline state (cursors, outbox, quarantine)
# Every schema the pipeline writes: SCHEMAS, the config tables (tertulia.schema) and dbt's `+schema`s
# (dbt_project.yml). A DuckDB file names its catalog after the file's stem, so a file `tertulia.duckdb`
# makes `tertulia.x` ambiguous (catalog or schema?) and every statement on it fails (`main.duckdb` does
# not: DuckDB's default schema resolves). tests/core/test_warehouse_location.py checks this list against
# dbt_project.yml and that each name really breaks.
WAREHOUSE_SCHEMAS = (*SCHEMAS, "config", "staging", "intermediate", "marts")


class WarehouseBusy(RuntimeError):
    """Another Tertulia process holds the warehouse for writing."""


class NotOnPostgres(RuntimeError):
    """A step that runs on a DuckDB warehouse only was asked to run on a PostgreSQL one."""


POSTGRES_SCHEMES = ("postgresql", "postgres")


def is_postgres_url(value: object) -> bool:
    return isinstance(value, str) and value.split("://", 1)[0].lower() in POSTGRES_SCHEMES and "://" in value


def looks_like_url(value: str) -> bool:
    """A value meant as a server address rather than a file: `scheme://...`, a `postgres...` value with
    `@` or `//` (a mistyped scheme: `postgresq://`, `postgresql//`), or libpq's `key=value` form. Taken
    as a path, such a value would quietly become a DuckDB file in folders named like the URL."""
    lowered = value.strip().lower()
    return (
        "://" in value
        or (lowered.startswith("postgres") and ("@" in value or "//" in value))
        or _LIBPQ_KEYWORDS.match(value) is not None
    )


_LIBPQ_KEYWORDS = re.compile(r"\s*(host|hostaddr|port|dbname|user|password|service)\s*=", re.IGNORECASE)
_PASSWORD_KEYWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s]*)", re.IGNORECASE)


def masked(text: str) -> str:
    """`text` (a URL, well formed or not, or a libpq `key=value` string) with its password as `***`:
    what every message and log shows of a warehouse address. Errs on the side of hiding: anything
    between `user:` and the last `@` of the address part goes."""
    address, query_sep, query = text.partition("?")
    at = address.rfind("@")
    if at >= 0:
        left = address[:at]
        start = left.find("//") + 2 if "//" in left else (left.find(":/") + 2 if ":/" in left else 0)
        user, colon, _ = left[start:].partition(":")
        if colon:
            address = f"{left[:start]}{user}:***{address[at:]}"
    return _PASSWORD_KEYWORD.sub(r"\1***", address + query_sep + query)


@dataclass(frozen=True)
class PostgresWarehouse:
    """A warehouse on a PostgreSQL server, from a libpq URL (`postgresql://user@host:5432/db`).

    What the URL leaves out comes from libpq's environment (PGHOST, PGPORT, PGUSER, PGPASSWORD,
    PGDATABASE, PGPASSFILE, PGSSLMODE...), which psycopg2 and the dbt profile both read: that is where
    the password belongs. `shown` is the URL without its password, for messages and logs.
    """

    url: str

    @property
    def shown(self) -> str:
        return masked(self.url)

    def __str__(self) -> str:
        return self.shown

    def settings(self) -> dict[str, str]:
        """The URL's parts as libpq keywords (host, port, user, password, dbname, options...)."""
        from psycopg2.extensions import parse_dsn

        return {k: str(v) for k, v in parse_dsn(self.url).items()}

    def libpq_env(self) -> dict[str, str]:
        """The URL's parts as libpq's variables (what the dbt profile's `postgres` target reads), the
        environment's own values kept for what the URL leaves out."""
        names = {
            "host": "PGHOST",
            "port": "PGPORT",
            "user": "PGUSER",
            "password": "PGPASSWORD",
            "dbname": "PGDATABASE",
        }
        given = self.settings()
        return {var: given[key] for key, var in names.items() if key in given}

    def connect(self, *, application_name: str = "tertulia"):
        """A psycopg2 connection (libpq fills in what the URL leaves out from the environment)."""
        import psycopg2

        try:
            return psycopg2.connect(self.url, application_name=application_name[:63])
        except psycopg2.OperationalError as exc:
            raise ConnectionError(
                f"cannot connect to the PostgreSQL warehouse {self.shown}: {_one_line(exc)} Check that the "
                "server is up and the credentials: PGUSER/PGPASSWORD, ~/.pgpass, or the user and password "
                "in the URL."
            ) from None


def _one_line(exc: Exception) -> str:
    """libpq's message spans lines (a hint after the error, one error per address tried): one line, as
    every CLI error is, ending in its own punctuation."""
    text = " ".join(str(exc).split())
    return text if text.endswith((".", "?", "!")) else text + "."


def _query_password(query: str) -> bool:
    return any(k == "password" for k, _ in parse_qsl(query, keep_blank_values=True))


def postgres_warehouse(url: str, *, where: str | None, password_allowed: bool) -> PostgresWarehouse:
    """Check a `postgresql://` URL; `where` names where it was written, for the error messages (None
    where the caller names it, as community.yml's messages name the key and its line).

    A password is allowed only where the URL comes from the environment (TERTULIA_WAREHOUSE): a
    password in community.yml would sit in a file that is shared, copied and committed.
    """
    at = f"{where}: " if where else ""
    expected = "a URL is expected: postgresql://user@host:5432/dbname"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here, not at the first connection
    except ValueError as exc:
        raise ValueError(
            f"{at}{masked(url)!r} is not a valid postgresql:// URL ({exc}); {expected}"
        ) from None
    if parts.scheme.lower() not in POSTGRES_SCHEMES or not url.lower().startswith(
        f"{parts.scheme.lower()}://"
    ):
        raise ValueError(f"{at}{masked(url)!r} is not a postgresql:// URL; {expected}")
    if (parts.password is not None or _query_password(parts.query)) and not password_allowed:
        raise ValueError(
            f"{where or 'the URL'} holds a password: remove it from the URL and give it in the environment instead "
            "(PGPASSWORD, or ~/.pgpass), or keep the whole URL in TERTULIA_WAREHOUSE or in a Prefect "
            "Secret block named by warehouse.url_secret_block; community.yml is shared and must not "
            "hold credentials"
        )
    return PostgresWarehouse(url)


def duckdb_file(value: str | os.PathLike, *, where: str | None) -> Path:
    """Check a DuckDB warehouse file's name, as written (a Path would already have folded `//` into
    `/`): not an address mistyped, not a name DuckDB cannot use."""
    at = f"{where}: " if where else ""
    text = os.fspath(value)
    if looks_like_url(text):
        raise ValueError(
            f"{at}{masked(text)!r} looks like a server address but is not a postgresql:// URL; "
            "write postgresql://user@host:5432/dbname for a PostgreSQL warehouse, or a file path such as "
            "data/warehouse.duckdb for a DuckDB one"
        )
    path = Path(text)
    if path.stem.lower() in WAREHOUSE_SCHEMAS:
        raise ValueError(
            f"{at}the DuckDB file {path.name!r} is named like the warehouse's schema {path.stem!r}: DuckDB "
            "names the database after the file, and then every query on that schema is ambiguous. Use "
            "another name, such as warehouse.duckdb"
        )
    return path


def location(value: str, *, where: str, password_allowed: bool) -> Path | PostgresWarehouse:
    """Where a warehouse setting that takes either form (TERTULIA_WAREHOUSE) points: a postgresql:// URL
    or a DuckDB file, anything that looks like an address but is neither refused."""
    if is_postgres_url(value):
        return postgres_warehouse(value, where=where, password_allowed=password_allowed)
    return duckdb_file(value, where=where).resolve()


@functools.lru_cache(maxsize=8)
def url_from_secret_block(block: str) -> str:
    """The warehouse URL kept in a Prefect Secret block (`warehouse.url_secret_block`), read once per
    process: every step asks for the warehouse, and a flow run is a process of its own."""
    try:
        from prefect.blocks.system import Secret  # Prefect is heavy: only when a block is named

        value = Secret.load(block).get()
    except Exception as exc:  # noqa: BLE001 - any failure to read the block means the same to the user
        raise ValueError(
            f"warehouse.url_secret_block: could not read Prefect Secret block {block!r} "
            f"({type(exc).__name__}). Create it with `Secret(value='postgresql://...').save({block!r})`, "
            "check the Prefect API is reachable, or set TERTULIA_WAREHOUSE instead."
        ) from None
    return str(value)


# The one key every Tertulia writer locks on a PostgreSQL warehouse (advisory locks are per database,
# so per warehouse): pg_try_advisory_lock(WRITER_LOCK_CLASS, WRITER_LOCK_ID). Two int4 keys, so
# pg_locks shows them as they are (classid, objid) and the waiting side can name the holder.
WRITER_LOCK_CLASS = 0x7E27
WRITER_LOCK_ID = 1
# The holder's session carries this prefix in its application_name, read by the waiting side.
LOCK_APP_PREFIX = "tertulia writer: "


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


# How often a run that waits for the lock says so: a run that waits in silence looks hung.
WAIT_NOTICE_SECONDS = 30.0

log = logging.getLogger("tertulia.warehouse")


def lock_holder(db_path: Path) -> str:
    """Who holds (or last held) the writer lock, as a person reads it: "pid 123 (sla_watch) since 14:05:00 UTC"."""
    try:
        text = lock_path(Path(db_path)).read_text(encoding="utf-8", errors="replace").strip()
    except FileNotFoundError:
        return "unknown"
    try:
        info = json.loads(text)
    except ValueError:  # a lock file written before the holder was recorded as JSON: a bare pid
        return f"pid {text}" if text else "unknown"
    if not isinstance(info, dict):
        return f"pid {text}"
    since = info.get("since") or ""
    return f"pid {info.get('pid', '?')} ({info.get('by') or 'unknown'})" + (
        f" since {since}" if since else ""
    )


@contextlib.contextmanager
def writer_lock(
    where: Path | PostgresWarehouse,
    *,
    wait_seconds: float = 600.0,
    holder: str | None = None,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
) -> Iterator[None]:
    """Hold the warehouse's writer lock; wait up to `wait_seconds` for another run to finish.

    `where` is the warehouse (`Config.warehouse_location`): a DuckDB file's path (an flock on a side
    file) or a PostgreSQL warehouse (an advisory lock). Either dies with the process that holds it.
    """
    if isinstance(where, PostgresWarehouse):
        lock = _postgres_writer_lock(where, wait_seconds=wait_seconds, holder=holder, logger=logger)
    else:
        lock = _file_writer_lock(Path(where), wait_seconds=wait_seconds, holder=holder, logger=logger)
    with lock:
        yield


def _wait_loop(try_lock, describe_holder, name: str, *, wait_seconds: float, say) -> None:
    """Call `try_lock` until it returns True; say whom it waits for; WarehouseBusy past the deadline."""
    started = time.monotonic()
    deadline = started + wait_seconds
    next_notice = started
    while not try_lock():
        now = time.monotonic()
        if now >= deadline:
            raise WarehouseBusy(
                f"{name} is being written by another Tertulia run ({describe_holder()}); "
                f"waited {wait_seconds:.0f}s. Let it finish, or stop it, then run again."
            )
        if now >= next_notice:
            say.warning(
                "Waiting for the writer lock on %s: held by %s; waited %.0fs of at most %.0fs",
                name,
                describe_holder(),
                now - started,
                wait_seconds,
            )
            next_notice = now + WAIT_NOTICE_SECONDS
        time.sleep(0.2)
    if time.monotonic() - started >= 1.0:
        say.info("Got the writer lock on %s after %.0fs", name, time.monotonic() - started)


def postgres_lock_holder(con) -> str:
    """Who holds the writer lock of the PostgreSQL warehouse `con` is connected to, as a person reads
    it: "pid 123@host-a (sla_watch), server pid 4567, since 14:05:00 UTC"; "nobody" when it is free."""
    with con.cursor() as cur:
        cur.execute(
            "select a.application_name, a.pid, a.backend_start at time zone 'UTC' "
            "from pg_locks l left join pg_stat_activity a on a.pid = l.pid "
            "where l.locktype = 'advisory' and l.granted and l.classid = %s and l.objid = %s "
            "and l.objsubid = 2 and l.database = (select oid from pg_database where datname = current_database())",
            [WRITER_LOCK_CLASS, WRITER_LOCK_ID],
        )
        row = cur.fetchone()
    if row is None:
        return "nobody"
    app, server_pid, since = row
    # Another role's session may hide its details from us (pg_read_all_stats): say what is known.
    who = app[len(LOCK_APP_PREFIX) :] if app and app.startswith(LOCK_APP_PREFIX) else "unknown"
    text = f"{who}, server pid {server_pid}"
    return text + (f", since {since:%Y-%m-%d %H:%M:%S} UTC" if since else "")


@contextlib.contextmanager
def _postgres_writer_lock(
    wh: PostgresWarehouse,
    *,
    wait_seconds: float,
    holder: str | None,
    logger: logging.Logger | logging.LoggerAdapter | None,
) -> Iterator[None]:
    """A session-level advisory lock on a connection of its own, kept open while the lock is held.

    Closing the session (or the process dying, or the host losing the server) releases it, like the
    flock of a DuckDB file. The session's application_name names the holder for the waiting side.
    """
    import socket

    by = holder or Path(sys.argv[0]).name or "python"
    con = wh.connect(application_name=f"{LOCK_APP_PREFIX}pid {os.getpid()}@{socket.gethostname()} ({by})")
    try:
        con.autocommit = True  # a session lock outlives transactions; nothing else runs on this session

        def try_lock() -> bool:
            with con.cursor() as cur:
                cur.execute("select pg_try_advisory_lock(%s, %s)", [WRITER_LOCK_CLASS, WRITER_LOCK_ID])
                return bool(cur.fetchone()[0])

        _wait_loop(
            try_lock,
            lambda: postgres_lock_holder(con),
            wh.shown,
            wait_seconds=wait_seconds,
            say=logger or log,
        )
        yield
    finally:
        con.close()


@contextlib.contextmanager
def _file_writer_lock(
    db_path: Path,
    *,
    wait_seconds: float = 600.0,
    holder: str | None = None,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
) -> Iterator[None]:
    """Hold the warehouse's writer lock; wait up to `wait_seconds` for another run to finish.

    The lock is an flock on a side file, so it dies with the process: a run killed with SIGKILL never
    leaves a stale lock behind. The file says who holds it (`holder`, e.g. the flow's name) and since
    when, so a run that waits logs whom it waits for (to `logger`, e.g. a Prefect run logger) when it
    starts waiting and every WAIT_NOTICE_SECONDS after.
    """
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    lp = lock_path(db_path)
    say = logger or log
    fd = os.open(lp, os.O_RDWR | os.O_CREAT, 0o644)
    try:

        def try_lock() -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        _wait_loop(try_lock, lambda: lock_holder(db_path), str(db_path), wait_seconds=wait_seconds, say=say)
        info = {
            "pid": os.getpid(),
            "by": holder or Path(sys.argv[0]).name or "python",
            "since": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def connect(db_path: Path | PostgresWarehouse, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse. Writers must hold `writer_lock`.

    Given a PostgreSQL warehouse (`Config.warehouse_location`), the connection is a `PostgresConnection`:
    the steps whose SQL is portable (quality gates, alerts, the outbox, status) run on it unchanged.
    Steps that pass `Config.warehouse_path` stay DuckDB-only: that property refuses a PostgreSQL URL.
    """
    if isinstance(db_path, PostgresWarehouse):
        return PostgresConnection.open(db_path, read_only=read_only)  # type: ignore[return-value]
    db_path = Path(db_path)
    if read_only:
        if not db_path.exists():
            raise FileNotFoundError(
                f"{db_path}: no warehouse yet; run `tertulia import` or `make demo` first"
            )
        con = duckdb.connect(str(db_path), read_only=True)
        apply_resources(con)
        return con
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path))
    apply_resources(con)
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    return con


def apply_resources(con: duckdb.DuckDBPyConnection) -> None:
    """DuckDB's memory limit and threads by tertulia.resources' rule, the one dbt's builds run under.

    SET, not connect options: DuckDB refuses a second connection to a file this process has open with
    other options (dbt's, during a build), while a SET of the same values is harmless."""
    for name, value in resources.duckdb_settings().items():
        try:
            con.execute(f"set {name} = {_literal(value)}")
        except duckdb.Error as exc:
            con.close()
            env = resources.MEMORY_ENV if name == "memory_limit" else resources.THREADS_ENV
            raise ValueError(
                f"{env}={value!r}: DuckDB refused it as its {name} ({exc}); use a size such as 3GB or "
                "800MB, or a share of memory such as 50%, for the memory limit, and a whole number for threads"
            ) from None


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@contextlib.contextmanager
def open_for_writing(db_path: Path, *, wait_seconds: float = 600.0) -> Iterator[duckdb.DuckDBPyConnection]:
    with writer_lock(db_path, wait_seconds=wait_seconds):
        con = connect(db_path)
        try:
            yield con
        finally:
            con.close()


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def is_postgres(con) -> bool:
    """Whether `con` (from `connect`) is a PostgreSQL warehouse: for the few statements whose SQL differs
    (each such place names both forms next to each other)."""
    return isinstance(con, PostgresConnection)


class _PostgresResult:
    """What DuckDB's `execute` returns, as far as Tertulia reads it: fetchone, fetchall, description, df."""

    def __init__(self, cur) -> None:
        self._cur = cur

    @property
    def description(self):
        return self._cur.description

    def fetchone(self):
        return self._cur.fetchone() if self._cur.description else None

    def fetchall(self) -> list:
        return self._cur.fetchall() if self._cur.description else []

    def df(self):
        import pandas as pd

        columns = [d[0] for d in self._cur.description or ()]
        return pd.DataFrame.from_records(self.fetchall(), columns=columns)


def _numeric(value: str | None, cur) -> int | float | None:
    """PostgreSQL's numeric (what `sum()` of integers and `round(x, n)` give) as DuckDB gives those
    columns to Python: a whole number as int, otherwise float. Decimal would leak into text and
    arithmetic with floats (`Decimal * float` is a TypeError)."""
    if value is None:
        return None
    return float(value) if any(c in value for c in ".eEN") else int(value)


def _translate(sql: str, params):
    """DuckDB's parameter styles (`?`, `$name`) as psycopg2's (`%s`, `%(name)s`), and a literal `%` doubled;
    text inside quotes (strings, identifiers) and `::` casts are left as written."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"":
            j = i + 1
            while j < n and not (sql[j] == c and (j + 1 >= n or sql[j + 1] != c)):
                j += 2 if sql[j] == c else 1  # '' (or "") is a quote inside the text
            out.append(sql[i : j + 1].replace("%", "%%"))
            i = j + 1
            continue
        if c == "?":
            out.append("%s")
        elif c == "%":
            out.append("%%")
        elif c == "$" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            out.append(f"%({sql[i + 1 : j]})s")
            i = j
            continue
        else:
            out.append(c)
        i += 1
    # an empty list, not None: psycopg2 reads `%%` as `%` only when it formats parameters
    return "".join(out), (params if params is not None else [])


class PostgresConnection:
    """A PostgreSQL warehouse session with the part of DuckDB's connection API Tertulia's portable steps
    use: `execute(sql, params)` with `?` or `$name` parameters, `executemany`, the result's fetchone /
    fetchall / df / description, `begin transaction` / `commit` / `rollback` as statements, `close`.

    The session runs in autocommit like a DuckDB connection: each statement commits unless the caller
    opened a transaction with `begin`. A missing table raises duckdb.CatalogException, as on DuckDB,
    so "not built yet" is handled once for both. Bulk rows (`register` on DuckDB) go through
    `insert_rows`, the one method whose name says it differs.
    """

    dialect = "postgres"

    def __init__(self, raw, where: PostgresWarehouse) -> None:
        import psycopg2.extensions

        self.raw = raw
        self.where = where
        self.ensured_state: set[str] = set()  # tertulia.schema.ensure_state checks a table once per session
        raw.autocommit = True
        numeric = psycopg2.extensions.new_type((1700,), "TERTULIA_NUMERIC", _numeric)
        psycopg2.extensions.register_type(numeric, raw)
        from psycopg2.extras import register_default_json

        # json columns as the text stored, as DuckDB returns them (the outbox parses its payloads itself)
        register_default_json(raw, loads=lambda text: text)

    @classmethod
    def open(cls, where: PostgresWarehouse, *, read_only: bool = False) -> PostgresConnection:
        con = cls(where.connect(application_name="tertulia reader" if read_only else "tertulia"), where)
        if read_only:
            con.execute("set session characteristics as transaction read only")
        else:
            for schema in SCHEMAS:
                con.execute(f"create schema if not exists {schema}")
        return con

    def execute(self, sql: str, params=None) -> _PostgresResult:
        import psycopg2

        text, args = _translate(sql, params)
        cur = self.raw.cursor()
        try:
            cur.execute(text, args)
        except psycopg2.errors.UndefinedTable as exc:
            raise duckdb.CatalogException(f"{exc.pgerror or exc}".strip()) from exc
        return _PostgresResult(cur)

    def executemany(self, sql: str, rows) -> None:
        from psycopg2.extras import execute_batch

        text, _ = _translate(sql, None)
        with self.raw.cursor() as cur:
            execute_batch(cur, text, list(rows), page_size=500)

    def insert_rows(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        """Many rows into `table` in one round trip per page (DuckDB registers a frame instead)."""
        from psycopg2.extras import execute_values

        names = ", ".join(columns)
        with self.raw.cursor() as cur:
            execute_values(cur, f"insert into {table} ({names}) values %s", rows, page_size=1000)  # noqa: S608 - our names

    def close(self) -> None:
        self.raw.close()


def exists(where: Path | PostgresWarehouse) -> bool:
    """Whether there is a warehouse to read yet: a DuckDB file is made by the first import; a server's
    is there (a missing table reads as "not built yet", as on a new file)."""
    return isinstance(where, PostgresWarehouse) or Path(where).exists()
