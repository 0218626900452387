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
PY = (
    str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable
)
END = dt.date(2026, 11, 20)  # a fixed end day: the same community every run


class PhaseFailed(RuntimeError):
    """A phase exited with an error; the message holds the end of its output."""


def run_phase(phase: str, workdir: Path, *args: str, repo: Path = REPO) -> dict:
    """Run bench/phase.py PHASE of the checkout `repo` (this one by default; bench/compare_commits.py
    passes an older commit's worktree) with that checkout's own .venv, in its own process."""
    python = repo / ".venv" / "bin" / "python"
    cmd = [str(python) if repo != REPO else PY, str(repo / "bench" / "phase.py"), phase, str(workdir), *args]
    log = workdir / f"phase-{phase}.log"
    # The machine is shared: the load average as the phase starts goes with its figure.
    load = os.getloadavg()[0]
    t = time.perf_counter()
    # Output to a file, not a pipe: a chatty phase (dbt) would fill a pipe nobody reads until it exits.
    # On a terminal a spinner names the phase and its time so far (a 10M build is minutes of silence);
    # the phase's own progress would not be seen, its output goes to the log.
    from tertulia.progress import progress

    with log.open("w+", encoding="utf-8") as fh, progress(f"bench {phase} ({workdir.name}), log {log.name}"):
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, text=True, cwd=repo)
        # wait4 gives this child's own peak resident memory (ru_maxrss, KiB on Linux).
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        fh.seek(0)
        out = fh.read()
    wall = time.perf_counter() - t
    line = next((x for x in out.splitlines() if x.startswith("BENCH ")), None)
    if proc.returncode != 0 or line is None:
        raise PhaseFailed(f"bench phase {phase} failed (exit {proc.returncode}; log {log}):\n{out[-3000:]}")
    result = json.loads(line[len("BENCH ") :])
    result["process_seconds"] = wall
    result["load_at_start"] = load
    result["load_at_end"] = os.getloadavg()[0]
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    # CPU seconds of the phase and every process it waited for (dbt's threads, enrichment workers): on a
    # shared machine wall time says how busy the machine was, CPU time what the work cost.
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
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
        [
            str(REPO / ".venv" / "bin" / "tertulia"),
            "sample",
            str(bundle),
            "--days",
            str(days),
            "--seed",
            "7",
            "--scale",
            str(scale),
            "--end",
            END.isoformat(),
        ],
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
    """n new comments arriving: copies of the latest ones with new ids, as a one-file bundle.

    The records are copied as delivered (text, not re-typed by DuckDB's detection), so the cycle lands
    what an export would hold."""
    import duckdb

    src = comments_file(work / "bundle")
    out = work / f"cycle-{cycle}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    con = duckdb.connect()
    rows = con.execute(
        "select json from read_json_objects(?, format = 'newline_delimited') "
        "order by json_extract_string(json, '$.created_at') desc limit ?",
        [str(src), n],
    ).fetchall()
    con.close()
    # Unique per run, so a cycle of an earlier (or stopped) run never makes these look already landed.
    suffix = f"-n{int(time.time())}c{cycle}"
    with (out / "comments.jsonl").open("w", encoding="utf-8") as fh:
        for (text,) in rows:
            rec = json.loads(text)
            if rec.get("thread_id") == rec["comment_id"]:
                rec["thread_id"] += suffix
            rec["comment_id"] += suffix
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return out


def duckdb_count(db: Path) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("select count(*) from raw.comments").fetchone()[0]
    finally:
        con.close()


def fresh_warehouse(work: Path) -> None:
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        (work / name).unlink(missing_ok=True)


def build_and_check(work: Path, res: dict) -> None:
    """2. The full build of every model with its tests, then the quality gates, into `res`."""
    build = run_phase("build", work)
    res["full_build"] = {
        "seconds": build["seconds"],
        "cpu_seconds": build["cpu_seconds"],
        "load_at_start": build["load_at_start"],
        "load_at_end": build["load_at_end"],
        "peak_rss_mb": build["peak_rss_mb"],
        "memory_limit": build.get("memory_limit"),
        "threads": build.get("threads"),
        "models": build["models"],
        "failures": build.get("failures", []),
        "slowest": build.get("slowest", []),
        "model_seconds": build.get("model_seconds", {}),
    }
    quality = run_phase("quality", work)
    res["quality"] = {
        "seconds": quality["seconds"],
        "cpu_seconds": quality["cpu_seconds"],
        "peak_rss_mb": quality["peak_rss_mb"],
    }


def bench_size(
    scale: int,
    days: int,
    repeats: int,
    root: Path,
    dlt_rows: int,
    import_only: bool = False,
    enrich_distinct: bool = False,
    checkpoint=lambda res: None,
    cycles_only: bool = False,
    build_only: bool = False,
    no_build: bool = False,
) -> dict:
    work = generate(scale, days, root)
    if build_only:
        # The full build and the quality gates again, on the warehouse an earlier full run left (e.g.
        # under a memory limit).
        res = {"scale": scale, "days": days, "load_before": os.getloadavg(), "build_only": True}
        res["comments"] = duckdb_count(work / "warehouse.duckdb")
        build_and_check(work, res)
        res["load_after"] = os.getloadavg()
        return res
    if cycles_only:
        # On the warehouse an earlier full run of this size left: steady-state cycles only.
        con = duckdb_count(work / "warehouse.duckdb")
        res = {
            "scale": scale,
            "days": days,
            "load_before": os.getloadavg(),
            "comments": con,
            "cycles_only": True,
        }
        res["aged_minutes"] = run_phase("age", work)["minutes"]
        run_cycles(work, repeats, res)
        res["load_after"] = os.getloadavg()
        return res
    bundle = work / "bundle"
    cfile = comments_file(bundle)
    comments_only = work / "comments-only"
    shutil.rmtree(comments_only, ignore_errors=True)
    comments_only.mkdir()
    # A hard link, not a symlink: the importer refuses links that lead out of the bundle (issue 21), and
    # a copy of a 10M-comment file would cost the bench minutes of I/O.
    try:
        os.link(cfile, comments_only / cfile.name)
    except OSError:
        shutil.copyfile(cfile, comments_only / cfile.name)

    res: dict = {"scale": scale, "days": days, "load_before": os.getloadavg()}
    # 1. Backfill import of the comments export vs DuckDB's own reader of the same file, interleaved so
    # a change in the machine's load hits both alike.
    imports, reads = [], []
    for _ in range(repeats):
        fresh_warehouse(work)
        imports.append(run_phase("import", work, "--bundle", str(comments_only)))
        reads.append(run_phase("duckdb_read", work, "--file", str(cfile)))
    rows = imports[0]["comments"]
    res["comments"] = rows
    res["comments_file_mb"] = round(cfile.stat().st_size / 2**20, 1)
    res["import_seconds"] = summarise([r["seconds"] for r in imports])
    res["import_peak_rss_mb"] = max(r["peak_rss_mb"] for r in imports)
    res["import_rows_per_s"] = summarise([rows / r["seconds"] for r in imports])
    res["duckdb_read_seconds"] = summarise([r["seconds"] for r in reads])
    res["duckdb_read_rows_per_s"] = summarise([r["rows"] / r["seconds"] for r in reads])
    res["import_vs_duckdb"] = res["import_rows_per_s"]["median"] / res["duckdb_read_rows_per_s"]["median"]
    # CPU seconds (the phase process and its children): on a shared machine the wall times above say
    # how busy it was, these what each costs.
    res["import_cpu_seconds"] = summarise([r["cpu_seconds"] for r in imports])
    res["duckdb_read_cpu_seconds"] = summarise([r["cpu_seconds"] for r in reads])
    res["import_vs_duckdb_cpu"] = (
        res["duckdb_read_cpu_seconds"]["median"] / res["import_cpu_seconds"]["median"]
    )
    res["import_load"] = summarise([r["load_at_start"] for r in imports + reads])
    # dlt is slow: it loads the first dlt_rows lines, and its rows/s is compared with the importer's.
    dlts = [
        run_phase("dlt", work, "--file", str(cfile), "--limit", str(min(dlt_rows, rows)))
        for _ in range(repeats)
    ]
    if "skipped" in dlts[0]:
        res["dlt"] = dlts[0]["skipped"]
    else:
        res["dlt_rows"] = dlts[0]["rows"]
        res["dlt_rows_per_s"] = summarise([d["rows"] / d["seconds"] for d in dlts])
        res["import_vs_dlt"] = res["import_rows_per_s"]["median"] / res["dlt_rows_per_s"]["median"]
    checkpoint(res)
    if import_only:
        res["load_after"] = os.getloadavg()
        return res

    # 2. Full build: the whole bundle, enrichment, every model with its tests, then the quality gates.
    fresh_warehouse(work)
    shutil.rmtree(work / "dbt", ignore_errors=True)
    full_import = run_phase("import", work, "--bundle", str(bundle))
    res["full_import"] = {
        "seconds": full_import["seconds"],
        "rows": full_import["rows"],
        "peak_rss_mb": full_import["peak_rss_mb"],
    }
    if enrich_distinct:
        enrich = run_phase("enrich_distinct", work)
        res["enrichment"] = {
            "method": "distinct texts (see phase_enrich_distinct)",
            "seconds": enrich["seconds"],
            "rows": enrich["rows"],
            "rows_per_s": enrich["rows"] / enrich["seconds"] if enrich["seconds"] else None,
            "peak_rss_mb": enrich["peak_rss_mb"],
        }
    else:
        # Each repeat scores every comment again; a read_json of the comments file runs beside each, so
        # the ratio compares the two under the same load.
        enriches, peer_reads = [], []
        for i in range(repeats):
            enriches.append(run_phase("enrich", work, *(["--rescore"] if i else [])))
            peer_reads.append(run_phase("duckdb_read", work, "--file", str(cfile)))
        rows_per_s = summarise([e["rows"] / e["seconds"] for e in enriches])
        read_per_s = summarise([r["rows"] / r["seconds"] for r in peer_reads])
        res["enrichment"] = {
            "method": "every comment",
            "seconds": summarise([e["seconds"] for e in enriches]),
            "rows": enriches[0]["rows"],
            "distinct_texts": enriches[0].get("distinct_texts"),
            "rows_per_s": rows_per_s,
            "duckdb_read_rows_per_s": read_per_s,
            "vs_duckdb": rows_per_s["median"] / read_per_s["median"],
            "load": summarise([r["load_at_start"] for r in enriches + peer_reads]),
            "peak_rss_mb": max(e["peak_rss_mb"] for e in enriches),
        }
    checkpoint(res)
    if no_build:
        res["load_after"] = os.getloadavg()
        return res
    res["aged_minutes"] = run_phase("age", work)["minutes"]
    build_and_check(work, res)
    checkpoint(res)

    run_cycles(work, repeats, res)
    res["load_after"] = os.getloadavg()
    return res


def run_cycles(work: Path, repeats: int, res: dict) -> None:
    """3. Incremental cycle: 1,000 new comments, each cycle five minutes after the previous one (as the
    five-minute watches run). The first after a full build is reported apart from the steady ones."""
    first = run_phase("cycle", work, "--bundle", str(new_comments_bundle(work, 0)))
    res["first_cycle"] = {
        "seconds": first["seconds"],
        "steps": first["steps"],
        "landing_to_slack": first.get("landing_to_slack"),
        "slowest": first.get("slowest", []),
        "peak_rss_mb": first["peak_rss_mb"],
    }
    cycles = [
        run_phase("cycle", work, "--bundle", str(new_comments_bundle(work, i))) for i in range(1, repeats + 1)
    ]
    res["cycle_seconds"] = summarise([c["seconds"] for c in cycles])
    res["cycle_steps_median"] = {
        k: statistics.median(c["steps"][k] for c in cycles) for k in cycles[0]["steps"]
    }
    # From the comments' landing to the alert in Slack (the watch's cadence aside): to the outbox in
    # every cycle, to the first post in the cycles that had an alert to post.
    latency = [c["landing_to_slack"] for c in [first, *cycles] if c.get("landing_to_slack")]
    res["landing_to_slack"] = {
        "outbox_seconds": summarise([x["outbox_seconds"] for x in latency]),
        "first_post_seconds": summarise([x["first_post_seconds"] for x in latency]),
        "cycles_with_posts": sum(1 for x in latency if x["posts"]),
        "cycles": len(latency),
        "problems": sorted({p for x in latency for p in x["problems"]}),
    }
    res["cycle_peak_rss_mb"] = max(c["peak_rss_mb"] for c in cycles)
    res["cycle_landed"] = [c["landed"] for c in cycles]
    res["cycle_models"] = cycles[-1].get("models")
    res["cycle_failures"] = cycles[-1].get("failures", [])
    res["cycle_slowest"] = cycles[-1].get("slowest", [])


# The comparison's steps (name, phase), in order, each run on DuckDB then on PostgreSQL before the next
# (so a change in the shared machine's load hits both alike). The first cycle after a full build
# re-reads the backfill (it landed within the reload margin of the models' last build, as the aged
# landing times of the build's own rows are); the steady cycle is the one the watches run after it.
WAREHOUSE_STEPS = (
    ("import", "import"),
    ("enrich", "enrich"),
    ("age", "age"),
    ("build", "build"),
    ("first cycle", "cycle_core"),
    ("steady cycle", "cycle_core"),
)


def bench_warehouses(scale: int, days: int, root: Path, checkpoint=lambda res: None) -> dict:
    """`--warehouse postgres`: the backfill (import of the whole bundle, enrichment of every comment),
    the full build and the incremental cycle (1,000 new comments: import, enrich, watch models; the
    first after the build and a steady one) on a DuckDB file and on a throwaway PostgreSQL 15 cluster
    (tests/postgres/pg_server.py, as the tests start it: Debian's binaries, fsync off), step by step,
    with the load at each step's start and the ratio PostgreSQL / DuckDB of each step's seconds."""
    sys.path.insert(0, str(REPO))
    from tests.postgres import pg_server

    why_not = pg_server.available()
    if why_not:
        raise SystemExit(f"--warehouse postgres: {why_not}")
    work = generate(scale, days, root)
    dirs = {w: work / f"vs-{w}" for w in ("duckdb", "postgres")}
    for d in dirs.values():
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        (d / "bundle").symlink_to(work / "bundle")  # the phases read the sample's instant from it
    cycles = [new_comments_bundle(work, 0), new_comments_bundle(work, 1)]
    server = pg_server.start_server()
    try:
        server.create_database("tertulia_bench", owner="tertulia_bench")
        envs = {
            "duckdb": {"TERTULIA_WAREHOUSE": str(dirs["duckdb"] / "warehouse.duckdb")},
            "postgres": {
                **server.env("tertulia_bench", "tertulia_bench"),
                "TERTULIA_WAREHOUSE": server.url("tertulia_bench", "tertulia_bench"),
            },
        }
        res: dict = {"scale": scale, "days": days, "load_before": os.getloadavg(), "steps": {}}
        for step, phase in WAREHOUSE_STEPS:
            args = {
                "import": ["--bundle", str(work / "bundle")],
                "first cycle": ["--bundle", str(cycles[0])],
                "steady cycle": ["--bundle", str(cycles[1])],
            }
            out = {}
            for wh in ("duckdb", "postgres"):
                saved = {k: os.environ.get(k) for k in envs[wh]}
                os.environ.update(envs[wh])
                try:
                    # The server's CPU is its own processes', outside the phase's: read before and after.
                    server_cpu = server.cpu_seconds() if wh == "postgres" else None
                    out[wh] = run_phase(phase, dirs[wh], *args.get(step, []))
                    if server_cpu is not None:
                        out[wh]["server_cpu_seconds"] = server.cpu_seconds() - server_cpu
                finally:
                    for k, v in saved.items():
                        if v is None:
                            os.environ.pop(k, None)
                        else:
                            os.environ[k] = v
            ratio = (
                out["postgres"]["seconds"] / out["duckdb"]["seconds"] if out["duckdb"]["seconds"] else None
            )
            res["steps"][step] = {**out, "postgres_vs_duckdb": ratio}
            res.setdefault("comments", res["steps"]["import"]["duckdb"]["comments"])
            checkpoint(res)
        res["comments"] = res["steps"]["import"]["duckdb"]["comments"]
        res["load_after"] = os.getloadavg()
        return res
    finally:
        pg_server.stop_server(server)


def warehouses_markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"# PostgreSQL next to DuckDB ({results['name']}, {results['date']})",
        "",
        f"Machine: {m['cores']} cores, {m['memory_gb']} GB, Python {m['python']}, {m['platform']}; shared "
        "with other work: the load average (1 min) at each step's start is beside its time. One run of "
        "each step, DuckDB then PostgreSQL, step by step. PostgreSQL 15, a throwaway cluster on the same "
        "machine (fsync off, default settings otherwise).",
        "",
        "CPU seconds: DuckDB's are the phase process's and its children's; PostgreSQL's are the client "
        "phase's plus the server's (its processes' CPU read from /proc before and after the step).",
        "",
        "| comments | step | DuckDB s | PostgreSQL s | PostgreSQL / DuckDB | DuckDB CPU s | PostgreSQL CPU s "
        "(client + server) | CPU PostgreSQL / DuckDB | DuckDB peak MB | PostgreSQL peak MB (client) | "
        "load DuckDB / PostgreSQL |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["sizes"]:
        for step, x in r["steps"].items():
            d, p = x["duckdb"], x["postgres"]
            # Runs from before CPU time was recorded have none: "n/a".
            client, server = p.get("cpu_seconds"), p.get("server_cpu_seconds")
            pg_cpu = f"{_fmt(client)} + {_fmt(server)}"
            both = client + server if client is not None and server is not None else None
            cpu_ratio = both / d["cpu_seconds"] if both is not None and d.get("cpu_seconds") else None
            lines.append(
                f"| {r['comments']:,} | {step} | {d['seconds']:.1f} | {p['seconds']:.1f} | "
                f"{_fmt(x['postgres_vs_duckdb'])} | {_fmt(d.get('cpu_seconds'))} | {pg_cpu} | {_fmt(cpu_ratio)} | "
                f"{d['peak_rss_mb']:,.0f} | {p['peak_rss_mb']:,.0f} | "
                f"{d['load_at_start']:.1f} / {p['load_at_start']:.1f} |"
            )
    return "\n".join(lines) + "\n"


def startup(root: Path, repeats: int) -> dict:
    work = root / "startup"
    work.mkdir(parents=True, exist_ok=True)
    runs = [run_phase("startup", work) for _ in range(repeats)]
    out = summarise([r["seconds"] for r in runs])
    out["import_seconds"] = summarise([r["import_seconds"] for r in runs])
    return out


def machine() -> dict:
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory_gb": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _fmt(v, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, dict):
        return f"{_fmt(v['median'], unit)} ({_fmt(v['min'], unit)}–{_fmt(v['max'], unit)})"
    if isinstance(v, float):
        return f"{v:,.0f}{unit}" if v >= 100 else f"{v:.2f}{unit}"
    if isinstance(v, int):
        return f"{v:,}{unit}"
    return f"{v}{unit}"


def _get(r: dict, *path):
    for p in path:
        if not isinstance(r, dict) or p not in r:
            return None
        r = r[p]
    return r


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"# Benchmark results ({results['name']}, {results['date']})",
        "",
        f"Machine: {m['cores']} cores, {m['memory_gb']} GB, Python {m['python']}, {m['platform']}. "
        f"DuckDB memory limit for the builds: {results.get('memory_limit', 'default')}. "
        f"Medians of {results['repeats']} runs (min–max). Load average (1, 5, 15 min) before/after each "
        "size is in the JSON: the machine is shared.",
        "",
        "## Backfill import (comments file)",
        "",
        "| comments | file MB | import s | import rows/s | DuckDB read_json s | read_json rows/s | import / read_json "
        "| import peak MB | dlt rows/s (first N rows) | import / dlt | load (1 min) | import CPU s | read_json CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["sizes"]:
        if "import_rows_per_s" not in r:
            continue
        dlt = _fmt(r.get("dlt_rows_per_s")) + (f" (N={r['dlt_rows']:,})" if r.get("dlt_rows") else "")
        if "dlt" in r:
            dlt = r["dlt"]
        lines.append(
            f"| {r['comments']:,} | {_fmt(r.get('comments_file_mb'))} | {_fmt(r.get('import_seconds'))} | "
            f"{_fmt(r['import_rows_per_s'])} | {_fmt(r.get('duckdb_read_seconds'))} | "
            f"{_fmt(r['duckdb_read_rows_per_s'])} | {r['import_vs_duckdb']:.2f} | {_fmt(r.get('import_peak_rss_mb'))} | "
            f"{dlt} | {_fmt(r.get('import_vs_dlt'))} | {_fmt(r.get('import_load'))} | "
            f"{_fmt(r.get('import_cpu_seconds'))} | {_fmt(r.get('duckdb_read_cpu_seconds'))} |"
        )
    scored = [r for r in results["sizes"] if _get(r, "enrichment", "vs_duckdb") is not None]
    if scored:
        lines += [
            "",
            "## Enrichment (every comment scored; a read_json of the comments file beside each run)",
            "",
            "| comments | distinct texts | enrichment s | enrichment rows/s | read_json rows/s | enrichment / read_json "
            "| peak MB | load (1 min) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in scored:
            e = r["enrichment"]
            lines.append(
                f"| {r['comments']:,} | {_fmt(e.get('distinct_texts'))} | {_fmt(e['seconds'])} | {_fmt(e['rows_per_s'])} | "
                f"{_fmt(e['duckdb_read_rows_per_s'])} | {e['vs_duckdb']:.2f} | {_fmt(e['peak_rss_mb'])} | {_fmt(e['load'])} |"
            )
    full = [r for r in results["sizes"] if "full_build" in r]
    if full:
        lines += [
            "",
            "## Full build, quality, enrichment",
            "",
            "| comments | full import s | enrichment s | enrichment rows/s | full dbt build s (models) | build peak MB "
            "| quality s | quality peak MB |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in full:
            enrich = r.get("enrichment") or {"seconds": None, "rows_per_s": None, "method": "not run"}
            rate = (
                _fmt(enrich["rows_per_s"])
                if enrich.get("method", "every").startswith("every")
                else f"n/a ({enrich.get('method')})"
            )
            lines.append(
                f"| {r['comments']:,} | {_fmt(_get(r, 'full_import', 'seconds'))} | {_fmt(enrich['seconds'])} | {rate} | "
                f"{_fmt(r['full_build']['seconds'])} ({r['full_build']['models']}) | "
                f"{_fmt(r['full_build']['peak_rss_mb'])} | {_fmt(r['quality']['seconds'])} | "
                f"{_fmt(r['quality']['peak_rss_mb'])} |"
            )
    cyc = [r for r in results["sizes"] if r.get("cycle_seconds")]
    if cyc:
        lines += [
            "",
            "## Incremental cycle (1,000 new comments: import, enrich, SLA and crisis models, alerts)",
            "",
            "| comments | first cycle s (after a full build: its alerts fill an empty outbox) | steady cycle s "
            "| steady steps (median s) | peak MB |",
            "|---|---|---|---|---|",
        ]
        for r in cyc:
            steps = ", ".join(f"{k} {v:.2f}" for k, v in r["cycle_steps_median"].items())
            first = _fmt(_get(r, "first_cycle", "seconds"))
            lines.append(
                f"| {r['comments']:,} | {first} | {_fmt(r['cycle_seconds'])} | {steps} | "
                f"{_fmt(r['cycle_peak_rss_mb'])} |"
            )
        lat = [r for r in cyc if r.get("landing_to_slack")]
        if lat:
            lines += [
                "",
                "From the new comments' landing to their alert (the watch's cadence aside): to the outbox "
                "(enrich, build, alert rules) in every cycle; to the first post in a local Slack server in "
                "the cycles that had an alert to post.",
                "",
                "| comments | to the outbox s | to the first Slack post s | cycles with a post |",
                "|---|---|---|---|",
            ]
            for r in lat:
                x = r["landing_to_slack"]
                lines.append(
                    f"| {r['comments']:,} | {_fmt(x['outbox_seconds'])} | {_fmt(x['first_post_seconds'])} | "
                    f"{x['cycles_with_posts']} of {x['cycles']} |"
                )
        if len(cyc) >= 2:
            lo, hi = cyc[0], cyc[-1]
            lines.append(
                f"\nSteady cycle at {hi['comments']:,} vs {lo['comments']:,} comments: "
                f"{hi['cycle_seconds']['median'] / lo['cycle_seconds']['median']:.2f}x"
            )
    if results.get("startup"):
        s = results["startup"]
        lines.append(
            f"\nStart-up (invoking `tertulia run` to the first task): {_fmt(s, ' s')}; of which a bare "
            f"`import flows.pipeline` takes {_fmt(s.get('import_seconds'), ' s')}"
        )
    return "\n".join(lines) + "\n"


def chart(out: Path, path: Path) -> None:
    """Cycle time against warehouse size, from every result file in `out` (the latest per size)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points: dict[int, tuple[str, dict]] = {}
    for f in sorted(out.glob("*.json")):
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for r in data.get("sizes", []) if isinstance(data, dict) else []:
            if r.get("cycle_seconds") and r["cycle_seconds"].get("median") is not None:
                when = str(data.get("date", ""))
                if r["comments"] not in points or when >= points[r["comments"]][0]:
                    points[r["comments"]] = (when, r["cycle_seconds"])
    if not points:
        return
    xs = sorted(points)
    med = [points[x][1]["median"] for x in xs]
    lo = [points[x][1]["median"] - points[x][1]["min"] for x in xs]
    hi = [points[x][1]["max"] - points[x][1]["median"] for x in xs]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.errorbar(xs, med, yerr=[lo, hi], marker="o", capsize=3, label="median (min–max)")
    ax.axhline(15, color="tab:red", linestyle="--", linewidth=1, label="target at 10M: 15 s")
    ax.set_xscale("log")
    ax.set_xlabel("comments in the warehouse")
    ax.set_ylabel("cycle seconds (1,000 new)")
    ax.set_ylim(bottom=0)
    ax.set_title("Incremental cycle against warehouse size")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (scales 1 and 5), a few minutes")
    ap.add_argument(
        "--scales", type=int, nargs="+", help="sample scales (1 ≈ 10k comments; 100 ≈ 1M; 1000 ≈ 10M)"
    )
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dlt-rows", type=int, default=20000, help="rows the dlt peer loads (it is slow)")
    ap.add_argument("--import-only", action="store_true", help="only the backfill import and its peers")
    ap.add_argument("--no-startup", action="store_true", help="skip the start-up measure")
    ap.add_argument(
        "--cycles-only",
        action="store_true",
        help="steady-state cycles on the warehouse a full run of the size left",
    )
    ap.add_argument(
        "--enrich-distinct",
        action="store_true",
        help="fill the enrichment by scoring each distinct text once (10M: scoring every row takes most of an hour)",
    )
    ap.add_argument(
        "--build-only",
        action="store_true",
        help="the full build and quality gates again, on the warehouse a full run of the size left",
    )
    ap.add_argument(
        "--no-build",
        action="store_true",
        help="the import and enrichment phases only (no full build, quality gates or cycles)",
    )
    ap.add_argument(
        "--memory-limit",
        help="DuckDB memory_limit (TERTULIA_DUCKDB_MEMORY_LIMIT, e.g. 3GB; default tertulia.resources: a quarter of memory, at most 3 GB)",
    )
    ap.add_argument(
        "--warehouse",
        choices=("duckdb", "postgres"),
        default="duckdb",
        help="postgres: the backfill, full build and one cycle on DuckDB and on a throwaway PostgreSQL "
        "cluster, step by step (needs Debian's postgresql package, as the tests)",
    )
    ap.add_argument("--name", help="results file name (default from the sizes and options)")
    ap.add_argument("--work", type=Path, default=REPO / "bench" / "work")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    a = ap.parse_args()
    scales = a.scales or ([1, 5] if a.quick else [100, 1000])
    name = "quick" if a.quick and not a.scales else "scales-" + "-".join(map(str, scales))
    if a.import_only:
        name += "-import"
    if a.cycles_only:
        name += "-cycles"
    if a.build_only:
        name += "-build"
    if a.no_build:
        name += "-nobuild"
    if a.memory_limit:
        name += "-mem" + a.memory_limit.lower()
        os.environ["TERTULIA_DUCKDB_MEMORY_LIMIT"] = a.memory_limit  # inherited by every phase
    if a.warehouse == "postgres":
        name += "-postgres"
    name = a.name or name
    sys.path.insert(0, str(REPO))
    from tertulia.resources import default_memory_limit

    results = {
        "name": name,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "repeats": a.repeats,
        "memory_limit": a.memory_limit or f"Tertulia's default ({default_memory_limit()})",
        "sizes": [],
    }
    a.out.mkdir(parents=True, exist_ok=True)
    if a.warehouse == "postgres":
        for s in scales:
            print(f"== scale {s}, DuckDB and PostgreSQL", flush=True)

            def keep(res: dict) -> None:  # a stopped run keeps the steps it measured
                partial = {**results, "partial": res}
                (a.out / f"{name}.json").write_text(
                    json.dumps(partial, indent=2, default=str), encoding="utf-8"
                )

            results["sizes"].append(bench_warehouses(s, a.days, a.work, keep))
            (a.out / f"{name}.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
        md = warehouses_markdown(results)
        (a.out / f"{name}.md").write_text(md, encoding="utf-8")
        print(md)
        return
    for s in scales:
        print(f"== scale {s}", flush=True)

        def checkpoint(res: dict) -> None:
            # A long run that is stopped keeps what it measured (in "partial", not in "sizes").
            partial = {**results, "partial": res}
            (a.out / f"{name}.json").write_text(json.dumps(partial, indent=2, default=str), encoding="utf-8")

        results["sizes"].append(
            bench_size(
                s,
                a.days,
                a.repeats,
                a.work,
                a.dlt_rows,
                a.import_only,
                a.enrich_distinct,
                checkpoint,
                a.cycles_only,
                a.build_only,
                a.no_build,
            )
        )
        # Written after each size, so a long run that is stopped keeps what it measured.
        (a.out / f"{name}.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    if not (a.no_startup or a.import_only or a.cycles_only or a.build_only or a.no_build):
        results["startup"] = startup(a.work, a.repeats)
    (a.out / f"{name}.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    md = markdown(results)
    (a.out / f"{name}.md").write_text(md, encoding="utf-8")
    chart(a.out, a.out / "cycle.png")
    print(md)


if __name__ == "__main__":
    main()
