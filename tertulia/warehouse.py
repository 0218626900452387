"""Access to the DuckDB warehouse, and the one-writer rule.

DuckDB lets one process write a file or many read it, never both. Every Tertulia step that writes
(import, dbt build, alert outbox) takes `writer_lock` first, so two pipeline runs started at once
queue up (or the second gives up with a clear message) instead of failing half-way on DuckDB's own
lock. BI tools never open this file: they read the published copy (see tertulia.publish).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

SCHEMAS = ("raw", "tertulia")  # raw: landed data; tertulia: pipeline state (cursors, outbox, quarantine)


class WarehouseBusy(RuntimeError):
    """Another Tertulia process holds the warehouse for writing."""


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


@contextlib.contextmanager
def writer_lock(db_path: Path, *, wait_seconds: float = 600.0) -> Iterator[None]:
    """Hold the warehouse's writer lock; wait up to `wait_seconds` for another run to finish.

    The lock is an flock on a side file, so it dies with the process: a run killed with SIGKILL never
    leaves a stale lock behind.
    """
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    lp = lock_path(db_path)
    fd = os.open(lp, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                    raise WarehouseBusy(
                        f"{db_path} is being written by another Tertulia run (pid {holder}); "
                        f"waited {wait_seconds:.0f}s. Let it finish, or stop it, then run again."
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
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
