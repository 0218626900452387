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
    from tertulia.config import example_config_in

    return example_config_in(workdir)


def _now(workdir: Path) -> dt.datetime:
    facts = json.loads((workdir / "bundle" / "_facts.json").read_text(encoding="utf-8"))
    return dt.datetime.fromisoformat(facts["now"])


def phase_import(workdir: Path, bundle: Path) -> dict:
    from tertulia import pipeline

    cfg = bench_config(workdir)
    if not cfg.on_postgres:  # on PostgreSQL the import writes the tables it needs
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
    """A dlt merge pipeline of the same comments (first `limit` lines) into DuckDB, as a peer.

    A fresh destination and pipeline state every run, so each run is a first load (a merge into an empty
    table, like the importer's backfill)."""
    import shutil

    try:
        import dlt
    except ImportError:
        return {"skipped": "dlt is not installed (pip install -e '.[bench]')"}

    for name in ("dlt.duckdb", "dlt.duckdb.wal"):
        (workdir / name).unlink(missing_ok=True)
    shutil.rmtree(workdir / "dlt_pipelines", ignore_errors=True)

    def rows():
        with file.open(encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= limit:
                    break
                yield json.loads(line)

    resource = dlt.resource(
        rows(), name="comments", write_disposition="merge", primary_key=["platform", "comment_id"]
    )
    pipe = dlt.pipeline(
        pipeline_name="bench_dlt",
        destination=dlt.destinations.duckdb(str(workdir / "dlt.duckdb")),
        dataset_name="raw",
        pipelines_dir=str(workdir / "dlt_pipelines"),
    )
    t = time.perf_counter()
    pipe.run(resource)
    seconds = time.perf_counter() - t
    con = duckdb_connect(workdir / "dlt.duckdb")
    try:
        rows = con.execute("select count(*) from raw.comments").fetchone()[0]
    finally:
        con.close()
    return {"seconds": seconds, "rows": rows, "dlt_version": dlt.__version__}


def duckdb_connect(path: Path):
    import duckdb

    return duckdb.connect(str(path))


def _node_seconds(workdir: Path) -> list[tuple[str, float]]:
    """Every dbt node of the last invocation with its time, longest first (dbt's run_results.json)."""
    path = workdir / "dbt" / "target" / "run_results.json"
    try:
        results = json.loads(path.read_text(encoding="utf-8"))["results"]
    except (OSError, ValueError, KeyError):
        return []
    times = sorted(((r["unique_id"], r.get("execution_time") or 0.0) for r in results), key=lambda x: -x[1])
    return [(uid.split(".", 2)[-1] if uid.startswith("model.") else uid, round(s, 2)) for uid, s in times]


def _slowest_models(workdir: Path, n: int = 8) -> list[tuple[str, float]]:
    """The dbt nodes that took longest in the last invocation."""
    return _node_seconds(workdir)[:n]


def phase_enrich(workdir: Path, rescore: bool = False) -> dict:
    """Every comment not scored yet; with `rescore`, every comment again (the enrichment and terms are
    emptied first, outside the timing: the next run then scores everything, as after a backfill).

    The time includes building the annotator, loading the language detector and the lexicons, and
    starting worker processes: what the enrich step of `tertulia run` pays."""
    from tertulia import pipeline, warehouse

    cfg = bench_config(workdir)
    if cfg.on_postgres:  # the PostgreSQL comparison scores each comment once (no --rescore)
        t = time.perf_counter()
        n = pipeline.enrich(cfg)
        return {"seconds": time.perf_counter() - t, "rows": n, "distinct_texts": None}
    con = warehouse.connect(cfg.warehouse_path)
    try:
        if rescore:
            con.execute("delete from raw.comment_enrichment")
            con.execute("delete from raw.comment_terms")
            con.execute("checkpoint")
        distinct = con.execute("select count(distinct message) from raw.comments").fetchone()[0]
    finally:
        con.close()
    t = time.perf_counter()
    n = pipeline.enrich(cfg)
    return {"seconds": time.perf_counter() - t, "rows": n, "distinct_texts": distinct}


def phase_enrich_distinct(workdir: Path) -> dict:
    """Enrichment rows for every comment, computed once per distinct (message, channel).

    For the 10M size only, where scoring every row would take most of an hour: the sample repeats its
    texts (about 1,500 distinct messages at 1M), and the annotator's result depends on the text and
    channel alone, so the rows are the ones enrich_new_comments would write. Enrichment throughput is
    measured by phase_enrich at the smaller sizes, never by this."""
    import pyarrow as pa

    from enrichment.store import annotator_for, enrich_batch
    from tertulia import warehouse
    from tertulia.raw_schema import ensure_raw_tables
    from tertulia.schema import ensure_state

    cfg = bench_config(workdir)
    con = warehouse.connect(cfg.warehouse_path)
    try:
        ensure_raw_tables(con)
        t = time.perf_counter()
        pairs = con.execute(
            "select distinct message, lower(trim(channel)) as channel from raw.comments"
        ).to_arrow_table()
        batch = pa.table(
            {
                "platform": pa.array([""] * pairs.num_rows, pa.string()),
                "comment_id": pa.array([str(i) for i in range(pairs.num_rows)], pa.string()),
                "content_hash": pa.array([""] * pairs.num_rows, pa.string()),
                "message": pairs.column("message"),
                "channel": pairs.column("channel"),
            }
        ).to_batches()[0]
        scored = enrich_batch(batch, annotator_for(cfg), dt.datetime.now(dt.UTC).replace(tzinfo=None))
        scored = scored.append_column("message", pairs.column("message")).append_column(
            "channel", pairs.column("channel")
        )
        con.register("_scored", scored)
        con.execute(
            """
            insert or replace into raw.comment_enrichment by name
            select c.platform, c.comment_id, md5(coalesce(c.message, '')) as content_hash, s.language,
                   s.sentiment_score, s.sentiment_label, s.intent, s.priority, s.keywords, s.model_version,
                   s.enriched_at
            from raw.comments as c
            join _scored as s
              on c.message is not distinct from s.message and lower(trim(c.channel)) is not distinct from s.channel
            """
        )
        # the watermark enrich_new_comments leaves after scoring everything, so the next run reads
        # only what lands later, as after a real backfill
        ensure_state(con, "enrichment_watermark")
        con.execute(
            "insert or replace into tertulia.enrichment_watermark "
            "select 1, max(_loaded_at), current_timestamp::timestamp from raw.comments"
        )
        rows = con.execute("select count(*) from raw.comment_enrichment").fetchone()[0]
        return {"seconds": time.perf_counter() - t, "rows": rows, "distinct_texts": pairs.num_rows}
    finally:
        con.close()


def phase_age(workdir: Path) -> dict:
    """Make the landed data look loaded (and scored) an hour more than the reload margin ago.

    Every stamp moves back by the same amount, so this does not spare the first cycle after the build
    its re-read of the backfill: the incremental models compare with the newest stamp they hold, not
    with the clock, and the backfill's single stamp is that newest one (docs/benchmarks.md, round two's
    fifth pass, the 10M cycle). The cycles after the first are steady either way. Measured cost of this
    shortcut: the UPDATE leaves the landing times' min/max statistics unusable until the rows are
    rewritten, which the first cycle also pays."""
    from tertulia import warehouse
    from tertulia.contract import ENTITIES

    cfg = bench_config(workdir)
    minutes = int(cfg.warehouse.reload_margin_minutes) + 60
    shift = f"interval '{minutes} minutes'"  # quoted: the form DuckDB and PostgreSQL both read
    updates = [f"update raw.{name} set _loaded_at = _loaded_at - {shift}" for name in ENTITIES]  # noqa: S608
    updates.append(f"update raw.comment_enrichment set enriched_at = enriched_at - {shift}")  # noqa: S608
    t = time.perf_counter()
    if cfg.on_postgres:
        con = cfg.warehouse_location.connect(application_name="tertulia bench")
        try:
            with con.cursor() as cur:
                for sql in updates:
                    cur.execute(sql)
            con.commit()
        finally:
            con.close()
        return {"seconds": time.perf_counter() - t, "minutes": minutes}
    con = warehouse.connect(cfg.warehouse_path)
    try:
        for sql in updates:
            con.execute(sql)
    finally:
        con.close()
    return {"seconds": time.perf_counter() - t, "minutes": minutes}


def phase_build(workdir: Path) -> dict:
    """Every model and test (what the nightly build runs), from scratch."""
    from tertulia import pipeline, resources
    from tertulia.dbt_runner import build

    cfg = bench_config(workdir)
    if not cfg.on_postgres:  # on PostgreSQL the config tables are the ones the import wrote
        pipeline.prepare_warehouse(cfg)  # the config tables the models read, as a real run writes them first
    t = time.perf_counter()
    # A failing data test still gives a valid timing: it is recorded, not raised.
    res = build(cfg, as_of=_now(workdir), full_refresh=True, raise_on_failure=False)
    return {
        "seconds": time.perf_counter() - t,
        "models": len(res.models_built),
        "nodes": len(res.nodes),
        "failures": [f"{n.resource_type} {n.name}: {n.status}" for n in res.failures],
        "slowest": _slowest_models(workdir),
        # every model's time, for the per-model tables of docs/benchmarks.md
        "model_seconds": {
            name.split(".", 1)[-1]: s
            for name, s in _node_seconds(workdir)
            if not name.startswith(("test.", "unit_test."))
        },
        "memory_limit": resources.memory_limit(),
        "threads": resources.threads(),
    }


def phase_test(workdir: Path) -> dict:
    """The data and unit tests alone (`dbt test`) on a warehouse a build phase built: what the tests
    cost, apart from the models (a build runs both, two at a time, so its per-test times share the cores
    with models)."""
    from tertulia.dbt_runner import run_dbt

    cfg = bench_config(workdir)
    t = time.perf_counter()
    res = run_dbt(cfg, ["test"], as_of=_now(workdir))
    seconds = time.perf_counter() - t
    return {
        "seconds": seconds,
        "nodes": len(res.nodes),
        "failures": [f"{n.resource_type} {n.name}: {n.status}" for n in res.failures],
        # every test's time, longest first (dbt's run_results.json)
        "test_seconds": dict(_node_seconds(workdir)),
    }


def phase_quality(workdir: Path) -> dict:
    from tertulia import pipeline

    cfg = bench_config(workdir)
    t = time.perf_counter()
    rep = pipeline.check_quality(cfg, now=_now(workdir))
    return {"seconds": time.perf_counter() - t, "failed": list(getattr(rep, "failed", []) or [])}


def _cycle_now(cfg, start: dt.datetime) -> dt.datetime:
    """Five minutes after the previous build's instant, as a five-minute watch runs: time moves on
    between cycles (statuses change, days close), as it does for the real watches."""
    import duckdb

    from tertulia import warehouse

    con = warehouse.connect(cfg.warehouse_path, read_only=True)
    last = start
    try:
        # the latest instant a build or an alert evaluation of this warehouse ran at: a later run of the
        # bench on the same warehouse continues from there (re-running past instants would find every
        # alert already in the outbox and measure less than a watch does)
        for sql in (
            "select max(evaluated_at) from marts.fct_sla_events",
            "select max(created_at) from tertulia.alert_outbox",
        ):
            try:
                value = con.execute(sql).fetchall()[0][0]
            except duckdb.CatalogException:
                continue
            if value is not None and value > last:
                last = value
    finally:
        con.close()
    return last + dt.timedelta(minutes=5)


def _deliver_to_local_slack(con, cfg, now: dt.datetime) -> dict:
    """Deliver the outbox to a local server speaking Slack's Web API (tests/fakes/slack_server.py, as
    the tests do; no network here): the seconds to the first and last post and how many there were.
    Slack's own latency is not in it, nor the pacing per channel (`seconds_per_message_per_channel`,
    Slack's rate limit, which the local server does not have): a cycle after a full build posts
    hundreds of alerts, which paced would take that many seconds after the first post."""
    from alerts.delivery import deliver_pending

    sys.path.insert(0, str(REPO / "tests"))
    from fakes.slack_server import VALID_TOKEN, FakeSlack

    fake = FakeSlack().start()
    posted: list[float] = []
    answer = fake.api

    def api(method, params, authorized):
        result = answer(method, params, authorized)
        if method == "chat.postMessage" and result.get("ok"):
            posted.append(time.perf_counter())
        return result

    fake.api = api
    slack = cfg.slack.model_copy(update={"base_url": fake.base_url, "seconds_per_message_per_channel": 0.0})
    previous = os.environ.get(cfg.slack.token_env)
    os.environ[cfg.slack.token_env] = VALID_TOKEN
    t = time.perf_counter()
    try:
        report = deliver_pending(con, cfg.model_copy(update={"slack": slack}), now=now, out=lambda _: None)
    finally:
        fake.stop()
        if previous is None:
            os.environ.pop(cfg.slack.token_env, None)
        else:
            os.environ[cfg.slack.token_env] = previous
    return {
        "seconds": time.perf_counter() - t,
        "first_post_seconds": posted[0] - t if posted else None,
        "last_post_seconds": posted[-1] - t if posted else None,
        "posts": len(posted),
        "sent": report.sent,
        "problems": report.problems,
    }


def _land_and_build_watch_models(cfg, bundle: Path, now: dt.datetime):
    """The first half of a cycle, shared by `cycle` and `cycle_core`: import, enrich, and the SLA and
    crisis watch models built incrementally. Returns (step seconds, import report, enriched, build)."""
    from flows.watches import CRISIS_MODELS, SLA_MODELS
    from tertulia import pipeline
    from tertulia.dbt_runner import build

    steps = {}
    t = time.perf_counter()
    if not cfg.on_postgres:  # on PostgreSQL the import writes the tables it needs
        pipeline.prepare_warehouse(cfg)
    report = pipeline.import_files(cfg, bundle)
    steps["import"] = time.perf_counter() - t
    t = time.perf_counter()
    enriched = pipeline.enrich(cfg)
    steps["enrich"] = time.perf_counter() - t
    t = time.perf_counter()
    built = build(
        cfg, select=f"{SLA_MODELS} {CRISIS_MODELS}", as_of=now, run_tests=False, raise_on_failure=False
    )
    steps["build"] = time.perf_counter() - t
    return steps, report, enriched, built


def phase_cycle(workdir: Path, bundle: Path, deliver: bool = True) -> dict:
    """1,000 new comments: import, enrich, incremental build of the watch models, alert evaluation,
    delivery to a local Slack server, five minutes after the previous cycle.

    `landing_to_slack`: from the new comments' landing (the import's commit) to the first alert posted
    to Slack in this cycle (when it has one), and to the alerts being in the outbox: how long a comment
    whose alert is due waits for it once it has landed, the watch's cadence aside. Without `deliver`
    (bench/compare_commits.py), no delivery: the process's CPU seconds are then the cycle's alone, as
    in the commits before the bench delivered."""
    from alerts.outbox import enqueue
    from alerts.rules import evaluate_all
    from tertulia import warehouse

    cfg = bench_config(workdir)
    now = _cycle_now(cfg, _now(workdir))
    t0 = time.perf_counter()
    steps, report, enriched, built = _land_and_build_watch_models(cfg, bundle, now)
    slowest = _slowest_models(workdir)
    t = time.perf_counter()
    con = warehouse.connect(cfg.warehouse_path)
    try:
        alerts = evaluate_all(con, cfg, now=now)
        enqueue(con, alerts, now=now)
        steps["alerts"] = time.perf_counter() - t
        seconds = time.perf_counter() - t0
        # Outside the cycle's seconds (comparable with earlier runs, which did not deliver).
        delivery = _deliver_to_local_slack(con, cfg, now) if deliver else None
    finally:
        con.close()
    to_outbox = steps["enrich"] + steps["build"] + steps["alerts"]
    first = delivery["first_post_seconds"] if delivery else None
    return {
        "seconds": seconds,
        "steps": steps,
        "landing_to_slack": {
            "outbox_seconds": to_outbox,
            "first_post_seconds": None if first is None else to_outbox + first,
            "posts": delivery["posts"],
            "problems": delivery["problems"],
        }
        if delivery
        else None,
        "landed": sum(r.inserted for r in report.entities.values()),
        "enriched": enriched,
        "alerts": len(alerts),
        "models": len(built.models_built),
        "failures": [f"{n.resource_type} {n.name}: {n.status}" for n in built.failures],
        "slowest": slowest,
    }


def phase_cycle_core(workdir: Path, bundle: Path) -> dict:
    """The part of a cycle that runs on both warehouses (the PostgreSQL comparison, bench/run.py
    --warehouse postgres): import the new comments, enrich them, build the watch models (SLA and
    crisis) incrementally, five minutes after the sample's instant. No alerts (`cycle` has them)."""
    cfg = bench_config(workdir)
    now = _now(workdir) + dt.timedelta(minutes=5)
    t0 = time.perf_counter()
    steps, report, enriched, built = _land_and_build_watch_models(cfg, bundle, now)
    return {
        "seconds": time.perf_counter() - t0,
        "steps": steps,
        "landed": sum(r.inserted for r in report.entities.values()),
        "enriched": enriched,
        "models": len(built.models_built),
        "failures": [f"{n.resource_type} {n.name}: {n.status}" for n in built.failures],
    }


def phase_startup(workdir: Path) -> dict:
    """Seconds from invoking `tertulia run` to the first task starting (the probe file's timestamp)."""
    import subprocess

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import flows.pipeline"], cwd=REPO, check=True)
    import_seconds = time.perf_counter() - t0
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
    # import_seconds: a bare interpreter importing the flow module (Prefect included), for comparison.
    return {"seconds": (started - t) if started else None, "import_seconds": import_seconds}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("phase")
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--bundle", type=Path)
    ap.add_argument("--file", type=Path)
    ap.add_argument("--limit", type=int, default=20000)
    ap.add_argument("--rescore", action="store_true", help="enrich: score every comment again")
    ap.add_argument("--no-delivery", action="store_true", help="cycle: no delivery to a local Slack server")
    a = ap.parse_args()
    fn = {
        "import": lambda: phase_import(a.workdir, a.bundle),
        "duckdb_read": lambda: phase_duckdb_read(a.workdir, a.file),
        "dlt": lambda: phase_dlt(a.workdir, a.file, a.limit),
        "enrich": lambda: phase_enrich(a.workdir, a.rescore),
        "enrich_distinct": lambda: phase_enrich_distinct(a.workdir),
        "age": lambda: phase_age(a.workdir),
        "build": lambda: phase_build(a.workdir),
        "test": lambda: phase_test(a.workdir),
        "quality": lambda: phase_quality(a.workdir),
        "cycle": lambda: phase_cycle(a.workdir, a.bundle, deliver=not a.no_delivery),
        "cycle_core": lambda: phase_cycle_core(a.workdir, a.bundle),
        "startup": lambda: phase_startup(a.workdir),
    }[a.phase]
    print("BENCH " + json.dumps(fn(), default=str), flush=True)


if __name__ == "__main__":
    main()
