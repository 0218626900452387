"""Tertulia's benchmarks in one command: `make bench` (1M and 10M comments) or `make bench-quick`.

Every phase runs in its own process (bench/phase.py) so its wall time and peak memory are its own.
Figures are medians of several runs with min and max, and each throughput is reported against a peer
measured in the same run on the same file: DuckDB's own reader (the physical limit here) and, when
installed, a dlt merge pipeline. Results: bench/results/<name>.json and .md, and a PNG chart of the
incremental cycle against warehouse size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable
END = dt.date(2026, 11, 20)  # a fixed end day: the same community every run


def run_phase(phase: str, workdir: Path, *args: str) -> dict:
    cmd = [PY, str(REPO / "bench" / "phase.py"), phase, str(workdir), *args]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    # wait4 gives this child's own peak resident memory (ru_maxrss, KiB on Linux).
    out_chunks = []
    _, status, usage = os.wait4(proc.pid, 0)
    out_chunks.append(proc.stdout.read())
    err = proc.stderr.read()
    wall = time.perf_counter() - t
    out = "".join(out_chunks)
    line = next((x for x in out.splitlines() if x.startswith("BENCH ")), None)
    if os.waitstatus_to_exitcode(status) != 0 or line is None:
        raise RuntimeError(f"bench phase {phase} failed:\n{out[-2000:]}\n{err[-4000:]}")
    result = json.loads(line[len("BENCH ") :])
    result["process_seconds"] = wall
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    return result


def summarise(values: list[float]) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def generate(scale: int, days: int, root: Path) -> Path:
    work = root / f"scale-{scale}"
    bundle = work / "bundle"
    facts = bundle / "_facts.json"
    if facts.exists():
        return work
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(REPO / ".venv" / "bin" / "tertulia"), "sample", str(bundle), "--days", str(days), "--seed", "7",
         "--scale", str(scale), "--end", END.isoformat()],
        check=True,
        cwd=REPO,
    )
    return work


def comments_file(bundle: Path) -> Path:
    for name in ("comments.jsonl", "comments.csv", "comments.parquet"):
        if (bundle / name).exists():
            return bundle / name
    raise FileNotFoundError(f"no comments file in {bundle}")


def new_comments_bundle(work: Path, cycle: int, n: int = 1000) -> Path:
    """n new comments arriving: copies of recent ones with new ids, as a one-file bundle."""
    import duckdb

    src = comments_file(work / "bundle")
    out = work / f"cycle-{cycle}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    con = duckdb.connect()
    con.execute(
        f"""
        copy (
            select * replace (
                comment_id || '-new{cycle}' as comment_id,
                case when thread_id = comment_id then thread_id || '-new{cycle}' else thread_id end as thread_id
            )
            from read_json(?, format = 'newline_delimited')
            order by created_at desc
            limit {int(n)}
        ) to '{out / "comments.jsonl"}' (format json)
        """,  # noqa: S608 (paths and numbers are ours)
        [str(src)],
    )
    con.close()
    return out


def bench_size(scale: int, days: int, repeats: int, root: Path, dlt_rows: int) -> dict:
    work = generate(scale, days, root)
    bundle = work / "bundle"
    cfile = comments_file(bundle)
    comments_only = work / "comments-only"
    shutil.rmtree(comments_only, ignore_errors=True)
    comments_only.mkdir()
    os.symlink(cfile, comments_only / cfile.name)

    res: dict = {"scale": scale, "days": days}
    # 1. Backfill import of the comments export vs DuckDB's own reader of the same file.
    imports, reads = [], []
    for _ in range(repeats):
        (work / "warehouse.duckdb").unlink(missing_ok=True)
        imports.append(run_phase("import", work, "--bundle", str(comments_only)))
        reads.append(run_phase("duckdb_read", work, "--file", str(cfile)))
    rows = imports[0]["comments"]
    res["comments"] = rows
    res["import_rows_per_s"] = summarise([rows / r["seconds"] for r in imports])
    res["duckdb_read_rows_per_s"] = summarise([r["rows"] / r["seconds"] for r in reads])
    res["import_vs_duckdb"] = res["import_rows_per_s"]["median"] / res["duckdb_read_rows_per_s"]["median"]
    dlt = run_phase("dlt", work, "--file", str(cfile), "--limit", str(min(dlt_rows, rows)))
    if "skipped" in dlt:
        res["dlt"] = dlt["skipped"]
    else:
        res["dlt_rows_per_s"] = dlt["rows"] / dlt["seconds"]
        res["import_vs_dlt"] = res["import_rows_per_s"]["median"] / res["dlt_rows_per_s"]

    # 2. Full build: the whole bundle, enrichment, every model with its tests, then the quality gates.
    (work / "warehouse.duckdb").unlink(missing_ok=True)
    shutil.rmtree(work / "dbt", ignore_errors=True)
    full_import = run_phase("import", work, "--bundle", str(bundle))
    res["full_import"] = {"seconds": full_import["seconds"], "rows": full_import["rows"]}
    enrich = run_phase("enrich", work)
    res["enrichment"] = {
        "seconds": enrich["seconds"],
        "rows": enrich["rows"],
        "rows_per_s": enrich["rows"] / enrich["seconds"] if enrich["seconds"] else None,
        "peak_rss_mb": enrich["peak_rss_mb"],
    }
    build = run_phase("build", work)
    res["full_build"] = {"seconds": build["seconds"], "peak_rss_mb": build["peak_rss_mb"], "models": build["models"]}
    quality = run_phase("quality", work)
    res["quality"] = {"seconds": quality["seconds"], "peak_rss_mb": quality["peak_rss_mb"]}

    # 3. Incremental cycle: 1,000 new comments, several times.
    cycles = [run_phase("cycle", work, "--bundle", str(new_comments_bundle(work, i))) for i in range(repeats)]
    res["cycle_seconds"] = summarise([c["seconds"] for c in cycles])
    res["cycle_steps_median"] = {
        k: statistics.median(c["steps"][k] for c in cycles) for k in cycles[0]["steps"]
    }
    res["cycle_peak_rss_mb"] = max(c["peak_rss_mb"] for c in cycles)
    return res


def startup(root: Path, repeats: int) -> dict:
    work = root / "startup"
    work.mkdir(parents=True, exist_ok=True)
    return summarise([run_phase("startup", work)["seconds"] for _ in range(repeats)])


def machine() -> dict:
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {"cores": os.cpu_count(), "memory_gb": mem, "python": platform.python_version(), "platform": platform.platform()}


def _fmt(v, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, dict):
        return f"{_fmt(v['median'], unit)} (min {_fmt(v['min'], unit)}, max {_fmt(v['max'], unit)})"
    if isinstance(v, float):
        return f"{v:,.0f}{unit}" if v >= 100 else f"{v:.2f}{unit}"
    return f"{v}{unit}"


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"# Benchmark results ({results['name']}, {results['date']})",
        "",
        f"Machine: {m['cores']} cores, {m['memory_gb']} GB, Python {m['python']}. "
        f"Medians of {results['repeats']} runs (min, max).",
        "",
        "| comments | import rows/s | DuckDB read_json rows/s | import / DuckDB | dlt rows/s | import / dlt | "
        "full build s | build peak MB | quality s | enrichment rows/s | cycle s (1,000 new) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["sizes"]:
        lines.append(
            f"| {r['comments']:,} | {_fmt(r['import_rows_per_s'])} | {_fmt(r['duckdb_read_rows_per_s'])} | "
            f"{r['import_vs_duckdb']:.2f} | {_fmt(r.get('dlt_rows_per_s'))} | {_fmt(r.get('import_vs_dlt'))} | "
            f"{_fmt(r['full_build']['seconds'])} | {_fmt(r['full_build']['peak_rss_mb'])} | "
            f"{_fmt(r['quality']['seconds'])} | {_fmt(r['enrichment']['rows_per_s'])} | {_fmt(r['cycle_seconds'])} |"
        )
    lines += ["", "Incremental cycle, median seconds per step:", ""]
    for r in results["sizes"]:
        steps = ", ".join(f"{k} {v:.2f}" for k, v in r["cycle_steps_median"].items())
        lines.append(f"- {r['comments']:,} comments: {steps}")
    if len(results["sizes"]) >= 2:
        a, b = results["sizes"][0], results["sizes"][-1]
        lines.append(
            f"\nCycle at {b['comments']:,} vs {a['comments']:,} comments: "
            f"{b['cycle_seconds']['median'] / a['cycle_seconds']['median']:.2f}x"
        )
    lines.append(f"\nStart-up (invoking `tertulia run` to the first task): {_fmt(results['startup'], ' s')}")
    return "\n".join(lines) + "\n"


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [r["comments"] for r in results["sizes"]]
    ys = [r["cycle_seconds"]["median"] for r in results["sizes"]]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(xs, ys, marker="o")
    ax.set_xscale("log")
    ax.set_xlabel("comments in the warehouse")
    ax.set_ylabel("cycle seconds (1,000 new)")
    ax.set_ylim(bottom=0)
    ax.set_title("Incremental cycle against warehouse size")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (scales 1 and 5), a few minutes")
    ap.add_argument("--scales", type=int, nargs="+", help="sample scales (1 ≈ 10k comments; 100 ≈ 1M; 1000 ≈ 10M)")
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dlt-rows", type=int, default=20000, help="rows the dlt peer loads (it is slow)")
    ap.add_argument("--work", type=Path, default=REPO / "bench" / "work")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    a = ap.parse_args()
    scales = a.scales or ([1, 5] if a.quick else [100, 1000])
    name = "quick" if a.quick and not a.scales else "scales-" + "-".join(map(str, scales))
    results = {
        "name": name,
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "repeats": a.repeats,
        "sizes": [],
    }
    for s in scales:
        print(f"== scale {s}", flush=True)
        results["sizes"].append(bench_size(s, a.days, a.repeats, a.work, a.dlt_rows))
    results["startup"] = startup(a.work, a.repeats)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / f"{name}.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    md = markdown(results)
    (a.out / f"{name}.md").write_text(md, encoding="utf-8")
    chart(results, a.out / f"{name}-cycle.png")
    print(md)


if __name__ == "__main__":
    main()
