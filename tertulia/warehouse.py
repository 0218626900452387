"""Access to the DuckDB warehouse, and the one-writer rule.

DuckDB lets one process write a file or many read it, never both. Every Tertulia step that writes
(import, dbt build, alert outbox) takes `writer_lock` first, so two pipeline runs started at once
queue up (or the second gives up with a clear message) instead of failing half-way on DuckDB's own
lock. BI tools never open this file: they read the published copy (see tertulia.publish).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

SCHEMAS = ("raw", "tertulia")  # raw: landed data; tertulia: pipeline state (cursors, outbox, quarantine)


class WarehouseBusy(RuntimeError):
    """Another Tertulia process holds the warehouse for writing."""


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
    started = time.monotonic()
    deadline = started + wait_seconds
    next_notice = started
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                now = time.monotonic()
                if now >= deadline:
                    raise WarehouseBusy(
                        f"{db_path} is being written by another Tertulia run ({lock_holder(db_path)}); "
                        f"waited {wait_seconds:.0f}s. Let it finish, or stop it, then run again."
                    ) from None
                if now >= next_notice:
                    say.warning(
                        "Waiting for the writer lock on %s: held by %s; waited %.0fs of at most %.0fs",
                        db_path,
                        lock_holder(db_path),
                        now - started,
                        wait_seconds,
                    )
                    next_notice = now + WAIT_NOTICE_SECONDS
                time.sleep(0.2)
        if time.monotonic() - started >= 1.0:
            say.info("Got the writer lock on %s after %.0fs", db_path, time.monotonic() - started)
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


def connect(db_path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse. Writers must hold `writer_lock`."""
    db_path = Path(db_path)
    if read_only:
        if not db_path.exists():
            raise FileNotFoundError(
                f"{db_path}: no warehouse yet; run `tertulia import` or `make demo` first"
            )
        return duckdb.connect(str(db_path), read_only=True)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path))
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    return con


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
