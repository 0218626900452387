"""One benchmark phase in its own process, so its wall time and peak memory are its own.

Called by bench/run.py: `python bench/phase.py PHASE WORKDIR [options]`; prints one JSON line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def bench_config(workdir: Path):
    from tertulia.config import parse_config

    data = yaml.safe_load((REPO / "community.example.yml").read_text(encoding="utf-8"))
    data["warehouse"] = {
        **data["warehouse"],
        "path": str(workdir / "warehouse.duckdb"),
        "publish_dir": str(workdir / "published"),
    }
    data["bundle_dir"] = str(workdir / "bundle")
    return parse_config(data, source=REPO / "community.example.yml", base_dir=workdir)


def _now(workdir: Path) -> dt.datetime:
    facts = json.loads((workdir / "bundle" / "_facts.json").read_text(encoding="utf-8"))
    return dt.datetime.fromisoformat(facts["now"])


def phase_import(workdir: Path, bundle: Path) -> dict:
    from tertulia import pipeline

    cfg = bench_config(workdir)
    pipeline.prepare_warehouse(cfg)
    t = time.perf_counter()
    report = pipeline.import_files(cfg, bundle)
    seconds = time.perf_counter() - t
    rows = sum(r.rows_in for r in report.entities.values())
    comments = report.entities["comments"].rows_in if "comments" in report.entities else 0
    return {"seconds": seconds, "rows": rows, "comments": comments, "errors": report.errors}


def phase_duckdb_read(workdir: Path, file: Path) -> dict:
    """The physical limit: DuckDB's own reader of the same file into a plain table."""
    import duckdb

    db = workdir / "peer.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    reader = "read_json" if file.suffix in (".jsonl", ".json", ".ndjson") else "read_csv"
    t = time.perf_counter()
    con.execute(f"create table comments as select * from {reader}(?)", [str(file)])  # noqa: S608
    seconds = time.perf_counter() - t
    rows = con.execute("select count(*) from comments").fetchone()[0]
    con.close()
    db.unlink(missing_ok=True)
    return {"seconds": seconds, "rows": rows}


def phase_dlt(workdir: Path, file: Path, limit: int) -> dict:
    """A dlt merge pipeline of the same comments (first `limit` lines) into DuckDB, as a peer."""
    try:
        import dlt
    except ImportError:
        return {"skipped": "dlt is not installed (pip install -e '.[bench]')"}

    def rows():
        with file.open(encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= limit:
                    break
                yield json.loads(line)

    resource = dlt.resource(rows(), name="comments", write_disposition="merge", primary_key=["platform", "comment_id"])
    pipe = dlt.pipeline(
        pipeline_name="bench_dlt",
        destination=dlt.destinations.duckdb(str(workdir / "dlt.duckdb")),
        dataset_name="raw",
        pipelines_dir=str(workdir / "dlt_pipelines"),
    )
    t = time.perf_counter()
    pipe.run(resource)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "rows": limit}


def phase_enrich(workdir: Path) -> dict:
    from tertulia import pipeline

    cfg = bench_config(workdir)
    t = time.perf_counter()
    n = pipeline.enrich(cfg)
    return {"seconds": time.perf_counter() - t, "rows": n}


def phase_build(workdir: Path) -> dict:
    from tertulia import pipeline

    cfg = bench_config(workdir)
    t = time.perf_counter()
    res = pipeline.build(cfg, as_of=_now(workdir), full_refresh=True)
    return {"seconds": time.perf_counter() - t, "models": len(res.models_built), "nodes": len(res.nodes)}


def phase_quality(workdir: Path) -> dict:
    from tertulia import pipeline

    cfg = bench_config(workdir)
    t = time.perf_counter()
    rep = pipeline.check_quality(cfg, now=_now(workdir))
    return {"seconds": time.perf_counter() - t, "failed": list(getattr(rep, "failed", []) or [])}


def phase_cycle(workdir: Path, bundle: Path) -> dict:
    """1,000 new comments: import, enrich, incremental build of the watch models, alert evaluation."""
    from alerts.outbox import enqueue
    from alerts.rules import evaluate_all
    from flows.watches import CRISIS_MODELS, SLA_MODELS
    from tertulia import pipeline, warehouse

    cfg = bench_config(workdir)
    now = _now(workdir)
    steps = {}
    t0 = time.perf_counter()
    pipeline.prepare_warehouse(cfg)
    report = pipeline.import_files(cfg, bundle)
    steps["import"] = time.perf_counter() - t0
    t = time.perf_counter()
    enriched = pipeline.enrich(cfg)
    steps["enrich"] = time.perf_counter() - t
    t = time.perf_counter()
    pipeline.build(cfg, select=f"{SLA_MODELS} {CRISIS_MODELS}", as_of=now, run_tests=False)
    steps["build"] = time.perf_counter() - t
    t = time.perf_counter()
    con = warehouse.connect(cfg.warehouse_path)
    try:
        alerts = evaluate_all(con, cfg, now=now)
        enqueue(con, alerts, now=now)
    finally:
        con.close()
    steps["alerts"] = time.perf_counter() - t
    return {
        "seconds": time.perf_counter() - t0,
        "steps": steps,
        "landed": sum(r.inserted for r in report.entities.values()),
        "enriched": enriched,
        "alerts": len(alerts),
    }


def phase_startup(workdir: Path) -> dict:
    """Seconds from invoking `tertulia run` to the first task starting (the probe file's timestamp)."""
    import subprocess

    probe = workdir / "startup-probe"
    probe.unlink(missing_ok=True)
    cfg_path = workdir / "community.yml"
    cfg = bench_config(workdir)
    data = yaml.safe_load((REPO / "community.example.yml").read_text(encoding="utf-8"))
    data["warehouse"] = {"path": str(cfg.warehouse_path), "publish_dir": str(workdir / "published")}
    data["bundle_dir"] = str(workdir / "empty-bundle")
    (workdir / "empty-bundle").mkdir(exist_ok=True)
    cfg_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "TERTULIA_STARTUP_PROBE": str(probe), "PREFECT_HOME": str(workdir / "prefect")}
    t = time.time()
    proc = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "tertulia"), "run", "--config", str(cfg_path), "--dry-run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not probe.exists() and proc.poll() is None:
        time.sleep(0.01)
    started = float(probe.read_text()) if probe.exists() else None
    proc.kill()
    proc.wait()
    return {"seconds": (started - t) if started else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("phase")
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--bundle", type=Path)
    ap.add_argument("--file", type=Path)
    ap.add_argument("--limit", type=int, default=20000)
    a = ap.parse_args()
    fn = {
        "import": lambda: phase_import(a.workdir, a.bundle),
        "duckdb_read": lambda: phase_duckdb_read(a.workdir, a.file),
        "dlt": lambda: phase_dlt(a.workdir, a.file, a.limit),
        "enrich": lambda: phase_enrich(a.workdir),
        "build": lambda: phase_build(a.workdir),
        "quality": lambda: phase_quality(a.workdir),
        "cycle": lambda: phase_cycle(a.workdir, a.bundle),
        "startup": lambda: phase_startup(a.workdir),
    }[a.phase]
    print("BENCH " + json.dumps(fn(), default=str), flush=True)


if __name__ == "__main__":
    main()
