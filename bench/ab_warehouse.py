"""Two versions of the code on copies of one prebuilt warehouse, interleaved: the full build, then
incremental cycles, each a bench/phase.py phase of that version's checkout (bench/run.py's `run_phase`:
CPU seconds from wait4, peak memory, the load at its start and end).

    python bench/ab_warehouse.py --source /tmp/build10m-bench/scale-100 \\
        --code base=/tmp/base-checkout --code after=. --order base,after,base,after \\
        --cycles 4 --work /tmp/ab --out bench/results/msgkey-1m-ab.json

--source holds `warehouse.prebuild.duckdb` (imported, enriched and aged, not built) and `bundle/`.
Each run copies the prebuilt warehouse into --work, builds it with `dbt build --full-refresh` and then
runs --cycles incremental cycles on it (`cycle_core`: 1,000 new comments landed, enriched, the watch
models built, alerts evaluated, nothing delivered, so the CPU seconds are the cycle's alone; the first
after the build is reported apart). A checkout without its own .venv runs with this one's Python: its
bench/phase.py puts its own folder first on sys.path, so it imports its own code. Nothing is deleted:
each run's warehouse stays in --work for bench/compare_relations.py.

With --built LABEL=DIR (repeatable; DIR a run folder a build left, e.g. an earlier run's), no build:
--cycles cycles on those warehouses, interleaved cycle by cycle (the labels' order alternating), each
with its label's --code.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from run import machine, new_comments_bundle, run_phase  # noqa: E402

KEEP = ("seconds", "cpu_seconds", "peak_rss_mb", "load_at_start", "load_at_end", "failures", "nodes", "steps")


def one_run(label: str, code: Path, source: Path, workdir: Path, cycles: int) -> dict:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    (workdir / "bundle").symlink_to(source / "bundle")
    shutil.copyfile(source / "warehouse.prebuild.duckdb", workdir / "warehouse.duckdb")
    build = run_phase("build", workdir, repo=code)
    out = {
        "label": label,
        "code": str(code),
        "build": {k: build[k] for k in KEEP if k in build}
        | {"model_seconds": build.get("model_seconds"), "slowest": build.get("slowest")},
        "cycles": [],
    }
    for i in range(cycles):
        c = run_phase("cycle_core", workdir, "--bundle", str(new_comments_bundle(workdir, i)), repo=code)
        out["cycles"].append({k: c[k] for k in KEEP if k in c})
    return out


def cycles_on_built(built: dict[str, Path], codes: dict[str, Path], cycles: int) -> list[dict]:
    out = {
        label: {"label": label, "code": str(codes[label]), "dir": str(d), "cycles": []}
        for label, d in built.items()
    }
    for i in range(cycles):
        labels = list(built) if i % 2 == 0 else list(reversed(built))
        for label in labels:
            bundle = new_comments_bundle(built[label], i)
            c = run_phase("cycle_core", built[label], "--bundle", str(bundle), repo=codes[label])
            out[label]["cycles"].append({k: c[k] for k in KEEP if k in c})
            print(f"{label} cycle {i + 1}: {c['cpu_seconds']:.1f} CPU s, {c['seconds']:.1f} s", flush=True)
    return list(out.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path)
    ap.add_argument("--code", action="append", required=True, help="LABEL=PATH of a checkout")
    ap.add_argument("--order", help="labels in run order, comma-separated")
    ap.add_argument(
        "--built", action="append", default=[], help="LABEL=DIR: cycles only, on this built warehouse"
    )
    ap.add_argument("--cycles", type=int, default=0)
    ap.add_argument("--work", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    codes = {k: Path(v).resolve() for k, v in (c.split("=", 1) for c in a.code)}
    res: dict = {
        "machine": machine(),
        "source": str(a.source),
        "codes": {k: str(v) for k, v in codes.items()},
    }
    if a.built:
        built = {k: Path(v).resolve() for k, v in (b.split("=", 1) for b in a.built)}
        res["runs"] = cycles_on_built(built, codes, a.cycles)
        res["load_after"] = os.getloadavg()
        a.out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
        return
    res["runs"] = []
    for n, label in enumerate(a.order.split(",")):
        res["runs"].append(one_run(label, codes[label], a.source, a.work / f"{n + 1}-{label}", a.cycles))
        a.out.write_text(
            json.dumps(res, indent=2) + "\n", encoding="utf-8"
        )  # after every run: a stop keeps what ran
        r = res["runs"][-1]
        steady = [c["cpu_seconds"] for c in r["cycles"][1:]]
        print(
            f"{label}: build {r['build']['cpu_seconds']:.1f} CPU s, {r['build']['seconds']:.0f} s wall, "
            f"load {r['build']['load_at_start']:.1f}; cycles CPU {[round(x, 1) for x in steady]}",
            flush=True,
        )
    res["load_after"] = os.getloadavg()
    a.out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
