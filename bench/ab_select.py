"""One model's select in several forms on one built warehouse, each run alone in its own process with
the build's DuckDB settings (tertulia.resources: memory limit and threads), the forms interleaved
round by round: what a change to one model costs, without dbt's fixed cost per node and the rest of
the build around it.

    python bench/ab_select.py --warehouse /tmp/run/warehouse.duckdb --rounds 2 \\
        --form before=/tmp/base/dbt/target/compiled/tertulia/models/.../int_member_messages.sql \\
        --form after=/tmp/after/dbt/target/compiled/tertulia/models/.../int_member_messages.sql \\
        --out bench/results/msgkey-1m-member-messages-ab.json

A form is a compiled select (dbt's `target/compiled/...` of a full build); it is written to a scratch DuckDB
file in --out's folder (rows counted, so the forms can be checked to give as many), and its CPU
seconds are the process's (every DuckDB thread), with its peak resident memory and the load at start
and end. The warehouse is attached read-only under its file's stem, the catalog the compiled SQL names.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def run_one(sql_file: Path, warehouse: Path, out: Path, setup: str = "") -> dict:
    import duckdb

    from tertulia import resources

    settings = resources.duckdb_settings()
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    con.execute(f"set memory_limit = '{settings['memory_limit']}'")
    con.execute(f"set threads = {int(settings['threads'])}")
    con.execute(f"set temp_directory = '{out}.tmp'")
    con.execute(f"attach '{warehouse}' as \"{warehouse.stem}\" (read_only)")
    # written as dbt writes a model (a table in a DuckDB file): a COPY to parquet of the same select
    # needs more memory (int_sla_thread_turns at 10M ran out of it that way, where the build does not)
    con.execute(f"attach '{out}' as scratch")
    if setup:
        con.execute(setup)
    sql = sql_file.read_text(encoding="utf-8")
    load = os.getloadavg()[0]
    t = time.perf_counter()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    con.execute(f"create table scratch.result as {sql}")
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter() - t
    rows = con.execute("select count(*) from scratch.result").fetchone()[0]
    return {
        "seconds": wall,
        "cpu_seconds": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
        "peak_rss_mb": r1.ru_maxrss / 1024,
        "load_at_start": load,
        "load_at_end": os.getloadavg()[0],
        "rows": rows,
        "memory_limit": settings["memory_limit"],
        "threads": settings["threads"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--warehouse", type=Path, required=True)
    ap.add_argument("--form", action="append", required=True, help="LABEL=compiled SQL file")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument(
        "--setup", action="append", default=[], help="LABEL=SQL run before that form's select (a SET)"
    )
    ap.add_argument("--one", nargs=2, metavar=("SQL", "PARQUET"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_one(Path(a.one[0]), a.warehouse, Path(a.one[1]), "; ".join(a.setup))))
        return
    forms = dict(f.split("=", 1) for f in a.form)
    setups = dict(f.split("=", 1) for f in a.setup)
    res: dict = {"warehouse": str(a.warehouse), "forms": forms, "setups": setups, "runs": []}
    with tempfile.TemporaryDirectory(dir=a.out.parent) as tmp:
        for rnd in range(a.rounds):
            labels = list(forms) if rnd % 2 == 0 else list(reversed(forms))
            for label in labels:
                scratch = Path(tmp) / f"{label}-{rnd}.duckdb"
                proc = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--warehouse",
                        str(a.warehouse),
                        "--form",
                        "x=x",
                        "--out",
                        str(a.out),
                    ]
                    + ["--one", forms[label], str(scratch)]
                    + ([f"--setup={setups[label]}"] if label in setups else []),
                    capture_output=True,
                    text=True,
                )
                if proc.returncode != 0:
                    # a form that fails (out of memory under the limit) is a result too
                    err = (proc.stderr.strip().splitlines() or ["?"])[-1]
                    res["runs"].append({"label": label, "round": rnd + 1, "error": err})
                    print(f"{label} round {rnd + 1}: failed: {err}", flush=True)
                    a.out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
                    continue
                run = {"label": label, "round": rnd + 1} | json.loads(proc.stdout.strip().splitlines()[-1])
                res["runs"].append(run)
                print(
                    f"{label} round {rnd + 1}: {run['cpu_seconds']:.1f} CPU s, {run['seconds']:.1f} s wall, "
                    f"{run['peak_rss_mb']:.0f} MB, {run['rows']} rows, load {run['load_at_start']:.1f}",
                    flush=True,
                )
                a.out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
                scratch.unlink()


if __name__ == "__main__":
    main()
