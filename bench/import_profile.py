"""Where one bundle import's time goes: wall and CPU seconds of each SQL statement it runs.

    .venv/bin/python bench/import_profile.py BUNDLE_DIR WORK_DIR [--duckdb-profile FILE]

Imports BUNDLE_DIR (a comments-only bundle, as `bench/run.py`'s import phase lands) into a fresh
warehouse in WORK_DIR (its warehouse.duckdb is deleted first) through `connectors.files.import_bundle`,
and prints each statement that took 50 ms or more. CPU seconds are the process's (DuckDB's threads
included), so on a shared machine they say what a statement cost where wall time says how busy the
machine was. `--duckdb-profile` also writes DuckDB's JSON profile (per operator) of the statement
that inserts into raw.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Timed:
    """A connection whose execute() records (wall, cpu, statement)."""

    def __init__(self, con, log: list, profile: Path | None) -> None:
        self._con, self._log, self._profile = con, log, profile
        self._profiling = False

    def __getattr__(self, name):
        return getattr(self._con, name)

    def execute(self, sql: str, *args, **kwargs):
        # Profiling is switched off at the next statement, not right after this one: a statement run
        # before the caller fetched this one's result would discard it.
        if self._profiling:
            self._con.execute("pragma disable_profiling")
            self._profiling = False
        if self._profile is not None and sql.lstrip().startswith("insert into raw."):
            self._con.execute("pragma enable_profiling = 'json'")
            self._con.execute(f"pragma profiling_output = '{self._profile}'")
            self._profiling = True
        c, t = cpu(), time.perf_counter()
        try:
            return self._con.execute(sql, *args, **kwargs)
        finally:
            self._log.append((time.perf_counter() - t, cpu() - c, " ".join(sql.split())))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundle", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("--duckdb-profile", type=Path, help="DuckDB's JSON profile of the insert into raw")
    a = ap.parse_args()
    from connectors.files import import_bundle
    from tertulia import pipeline, warehouse
    from tertulia.config import example_config_in

    a.work.mkdir(parents=True, exist_ok=True)
    for f in a.work.glob("warehouse.duckdb*"):
        f.unlink()
    cfg = example_config_in(a.work)
    pipeline.prepare_warehouse(cfg)
    log: list = []
    con = warehouse.connect(cfg.warehouse_path)
    c, t = cpu(), time.perf_counter()
    try:
        report = import_bundle(Timed(con, log, a.duckdb_profile), a.bundle, cfg)
    finally:
        con.close()  # the checkpoint at close is part of an import's cost
    print(report.render())
    print(
        f"import: {time.perf_counter() - t:.2f} s wall, {cpu() - c:.2f} CPU s, load {os.getloadavg()[0]:.1f}"
    )
    print("   wall     CPU  statement")
    for wall, cpu_s, sql in log:
        if wall >= 0.05 or cpu_s >= 0.05:
            print(f"{wall:7.2f} {cpu_s:7.2f}  {sql[:140]}")


if __name__ == "__main__":
    main()
