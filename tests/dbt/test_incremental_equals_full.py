"""Incremental equals full refresh, as a property of the whole dbt project.

The sample community lands the way a team lives it: a first build on an empty warehouse (no comment
at all), then the sample in batches cut by creation time, each landed, enriched and built at a later
pinned instant. A copy of that warehouse is then rebuilt with `--full-refresh` at the same final
instant, and every incremental model and every mart must hold the same rows in both (a symmetric
EXCEPT ALL, the idea of dbt-audit-helper's compare_relations).

The models compared are read from dbt's manifest, not listed here, so a new incremental model or
mart is covered without touching this test.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from tertulia import pipeline
from tertulia.config import example_config_in
from tertulia.sample import write_sample

pytestmark = pytest.mark.integration

# Columns that say when or from which batch a row was written, not what it holds: a full refresh
# stamps its own run on every row, an incremental build keeps the stamp of the run that last wrote it.
RUN_STAMPS = {
    "fct_sla_events": {"evaluated_at", "batch_loaded_through"},
    "agg_response_times_daily": {"built_as_of"},
    "int_crisis_hourly_baselines": {"hourly_changed_through"},
    "fct_crisis_signals": {"hourly_changed_through"},
}

# The time column each bundle entity is cut on; entities without one land with the first batch.
CUT_ON = {
    "comments": "created_at",
    "posts": "published_at",
    "post_metrics": "captured_at",
    "account_metrics": "date",
    "content_calendar": "planned_at",
}


def _instant(text: str, tz: ZoneInfo) -> dt.datetime:
    """A bundle timestamp or date as naive UTC (no offset: the community's local time)."""
    t = dt.datetime.fromisoformat(text.strip())
    if t.tzinfo is None:
        t = t.replace(tzinfo=tz)
    return t.astimezone(dt.UTC).replace(tzinfo=None)


def _read(path: Path) -> tuple[list[str] | None, list[dict]]:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            return list(reader.fieldnames or []), list(reader)
    return None, [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write(path: Path, header: list[str] | None, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if header is not None:
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def split_bundle(bundle: Path, out: Path, cuts: list[dt.datetime], tz: ZoneInfo) -> list[Path]:
    """One bundle folder per cut: the rows whose time is after the previous cut and up to this one
    (the last folder also takes anything later, such as planned posts)."""
    dirs = [out / f"batch{i + 1}" for i in range(len(cuts))]
    for d in dirs:
        d.mkdir(parents=True)
    for f in sorted(bundle.iterdir()):
        if f.name.startswith("_"):
            continue
        entity = f.name.split(".")[0]
        header, rows = _read(f)
        parts: list[list[dict]] = [[] for _ in cuts]
        for r in rows:
            col = CUT_ON.get(entity)
            if col is None or not r.get(col):
                parts[0].append(r)
                continue
            t = _instant(r[col], tz)
            i = next((i for i, c in enumerate(cuts) if t <= c), len(cuts) - 1)
            parts[i].append(r)
        for d, part in zip(dirs, parts, strict=True):
            if part:
                _write(d / f.name, header, part)
    return dirs


def _config(workdir: Path):
    config = example_config_in(workdir)
    # No reload margin: the batches land seconds apart, and a margin of minutes would make every
    # build re-read all of them, so the incremental path would never be taken. The margin only
    # widens what a build re-reads; the rows must be the same without it.
    warehouse = config.warehouse.model_copy(update={"reload_margin_minutes": 0})
    config = config.model_copy(update={"warehouse": warehouse})
    config.warehouse_path.parent.mkdir(parents=True)
    return config


def edit_old_comments(first: Path, last: Path, at: dt.datetime, every: int = 40) -> int:
    """Members edit a few comments of the first batch into complaints, landed with the last batch:
    late changes to hours weeks before the last build (beyond any look-back), which move crisis
    windows and baselines and re-open SLA threads. Returns how many."""
    _, rows = _read(first)
    top_level = [r for r in rows if r["channel"] == "comment" and not r.get("parent_id")]
    edits = [
        {**r, "message": "es una estafa, pésimo, vidrio en el café", "updated_at": at.isoformat() + "Z"}
        for r in top_level[::every]
    ]
    _, later = _read(last)
    _write(last, None, later + edits)
    return len(edits)


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("incremental")
    config = _config(tmp / "inc")
    facts = write_sample(tmp / "sample", days=30, seed=5, end=dt.date(2025, 3, 20))
    tz = ZoneInfo(config.community.timezone)
    # Cuts: two weeks in; inside the planted crisis' first hour; then a gap longer than
    # lookback_hours with nothing built; then the end of the sample.
    cuts = [
        dt.datetime.combine(facts.start, dt.time(12)) + dt.timedelta(days=14),
        facts.crisis_start + dt.timedelta(minutes=40),
        facts.now - dt.timedelta(days=1, hours=3),
        facts.now,
    ]
    assert cuts[2] - cuts[1] > dt.timedelta(hours=config.warehouse.lookback_hours)
    batches = split_bundle(tmp / "sample", tmp / "batches", cuts, tz)
    edited = edit_old_comments(batches[0] / "comments.jsonl", batches[-1] / "comments.jsonl", cuts[-1])

    # Batch 0: nothing has landed yet, the warehouse is built empty.
    empty = tmp / "batches" / "batch0"
    empty.mkdir()
    steps = [(empty, cuts[0] - dt.timedelta(days=7)), *zip(batches, cuts, strict=True)]
    landed = []
    for bundle, as_of in steps:
        pipeline.prepare_warehouse(config)
        report = pipeline.import_files(config, bundle)
        assert not report.errors, report.errors
        landed.append(sum(r.inserted for r in report.entities.values()))
        pipeline.enrich(config)
        pipeline.build(config, as_of=as_of, run_tests=False)
    assert landed[0] == 0 and all(n > 0 for n in landed[1:]), landed
    assert sum(landed) == sum(facts.counts.values())
    assert report.entities["comments"].updated == edited

    full = _config(tmp / "full")
    shutil.copy(config.warehouse_path, full.warehouse_path)
    pipeline.build(full, as_of=cuts[-1], full_refresh=True, run_tests=False)
    manifest = json.loads((config.warehouse_path.parent / "dbt" / "target" / "manifest.json").read_text())
    return config.warehouse_path, full.warehouse_path, manifest


def compared_models(manifest) -> dict[str, tuple[str, str]]:
    """name -> (schema, materialization) of every incremental model and every mart."""
    out = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        materialized = node["config"]["materialized"]
        if materialized == "incremental" or node["schema"] == "marts":
            out[node["name"]] = (node["schema"], materialized)
    return out


def test_the_project_has_incremental_models_and_marts_to_compare(warehouses):
    models = compared_models(warehouses[2])
    incremental = {n for n, (_, m) in models.items() if m == "incremental"}
    # the ones known today; more are welcome and are compared too
    assert {
        "stg_social__comments",
        "int_crisis_hourly",
        "int_crisis_hourly_baselines",
        "fct_crisis_signals",
        "fct_sla_events",
    } <= incremental
    assert {"fct_crisis_incidents", "dim_members", "agg_engagement_daily"} <= set(models)
    assert set(RUN_STAMPS) <= set(models)


def _compared(column: str, data_type: str) -> str:
    """A column as compared: floating-point values rounded to 9 decimals, because a sum or mean of
    the same values read in another order (an incremental table's rows are stored in landing order)
    differs in the last bits, e.g. 0.0211374999999999 against 0.0211374999999997."""
    if data_type in ("DOUBLE", "FLOAT", "REAL"):
        return f'round("{column}", 9) as "{column}"'
    return f'"{column}"'


def _columns(con, db, schema, name) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_catalog = ? and table_schema = ? and table_name = ? order by ordinal_position",
            [db, schema, name],
        ).fetchall()
    ]


def test_every_incremental_model_and_mart_equals_its_full_refresh(warehouses):
    inc_path, full_path, manifest = warehouses
    con = duckdb.connect()
    con.execute(f"attach '{inc_path}' as inc (read_only)")
    con.execute(f"attach '{full_path}' as full_ (read_only)")
    differences = {}
    counts = {}
    for name, (schema, _) in sorted(compared_models(manifest).items()):
        cols_inc, cols_full = _columns(con, "inc", schema, name), _columns(con, "full_", schema, name)
        assert cols_inc == cols_full, f"{schema}.{name}: columns differ: {cols_inc} vs {cols_full}"
        ignored = RUN_STAMPS.get(name, set())
        names = {c for c, _ in cols_inc}
        assert ignored <= names, f"{name}: run-stamp columns {ignored - names} are gone"
        cols = ", ".join(_compared(c, t) for c, t in cols_inc if c not in ignored)
        only = {}
        for a, b in (("inc", "full_"), ("full_", "inc")):
            diff = f"select {cols} from {a}.{schema}.{name} except all select {cols} from {b}.{schema}.{name}"
            n_only = con.execute(f"select count(*) from ({diff})").fetchone()[0]  # noqa: S608
            sample = con.execute(f"{diff} order by all limit 2")  # noqa: S608
            names = [d[0] for d in sample.description]
            only[a] = (n_only, [dict(zip(names, r, strict=True)) for r in sample.fetchall()])
        counts[name] = con.execute(f"select count(*) from full_.{schema}.{name}").fetchone()[0]  # noqa: S608
        if only["inc"][0] or only["full_"][0]:
            differences[f"{name} ({counts[name]} rows)"] = {
                "only_incremental": only["inc"],
                "only_full_refresh": only["full_"],
            }
    # The incremental path was taken, not a rebuild of everything on each run: rows written by
    # earlier builds are still there with their own stamps (the crisis signals after the first edited
    # hour were all redone by the last build, as they must be; those before it were not).
    stamps = con.execute(
        "select (select count(distinct batch_loaded_through) from inc.marts.fct_sla_events),"
        " (select count(distinct hourly_changed_through) from inc.marts.fct_crisis_signals)"
    ).fetchone()
    severe = con.execute(
        "select count(*) from inc.marts.fct_crisis_signals where severity in ('warning', 'critical')"
    ).fetchone()[0]
    con.close()
    assert stamps[0] >= 3 and stamps[1] >= 2, stamps
    assert severe > 0  # the crisis watch sees the planted crisis
    assert not differences, json.dumps(differences, default=str)
    # the comparison compared something: the sample fills every incremental model (a new one it
    # leaves empty needs data in the sample, or it is compared with nothing)
    empty = [n for n, (_, m) in compared_models(manifest).items() if m == "incremental" and counts[n] == 0]
    assert empty == []
