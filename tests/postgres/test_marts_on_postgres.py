"""The dbt project on a real PostgreSQL gives the marts it gives on DuckDB.

The demo's sample community (seed 7, 90 days, its end pinned to a fixed day) is imported, enriched and
built on DuckDB at the sample's own instant, as `make demo` does. The tables the dbt sources read (raw
and config, listed from dbt's manifest, so a new source is copied without touching this test) are
copied into a fresh PostgreSQL database by COPY, and `dbt build --target postgres` runs there at the same
instant: every model, data test and unit test must pass, and every model, marts first, must hold the
same rows as on DuckDB (tests/postgres/mart_compare.py states the numeric tolerance). A second run
then takes the incremental models' own path on PostgreSQL and must change nothing. The dbt unit tests
that run here include `published_at_parsed_alike_on_every_engine` (parse_ts, which differs most
between the two engines, on hand-computed instants).

What this does not cover yet: the Python pipeline (import, enrichment, alerts, publishing) still writes
to DuckDB only; here PostgreSQL receives DuckDB's raw tables (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os

import duckdb
import pytest

from tertulia import pipeline
from tertulia.config import example_config_in
from tertulia.dbt_runner import run_dbt
from tertulia.sample import write_sample
from tests.postgres import mart_compare, warehouse_copy

pytestmark = pytest.mark.integration

# The demo's sample (tertulia demo: seed 7, 90 days), ending on a fixed day so the test is the same
# every day it runs.
SAMPLE_END = dt.date(2025, 3, 20)
DATABASE = "tertulia_marts"


@contextlib.contextmanager
def environment(values: dict[str, str]):
    """os.environ with `values` for the block only (dbt's profile reads the server from it)."""
    previous = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in previous.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _manifest(config) -> dict:
    return json.loads((config.dbt_work_dir / "target" / "manifest.json").read_text())


@pytest.fixture(scope="module")
def built(tmp_path_factory, postgres_server):
    tmp = tmp_path_factory.mktemp("pg-marts")
    duck_config = example_config_in(tmp / "duckdb")
    duck_config.warehouse_path.parent.mkdir(parents=True)
    facts = write_sample(tmp / "sample", days=90, seed=7, end=SAMPLE_END)
    pipeline.prepare_warehouse(duck_config)
    report = pipeline.import_files(duck_config, tmp / "sample")
    assert not report.errors, report.errors
    pipeline.enrich(duck_config)
    pipeline.build(duck_config, as_of=facts.now)
    manifest = _manifest(duck_config)

    sources = sorted({(n["schema"], n["identifier"]) for n in manifest["sources"].values()})
    postgres_server.create_database(DATABASE)
    con = postgres_server.connect(DATABASE)
    try:
        copied = warehouse_copy.copy_tables(duck_config.warehouse_path, con, sources)
    finally:
        con.close()

    # Its own dbt folder: dbt's partial-parse state belongs to one target.
    pg_config = example_config_in(tmp / "postgres")
    pg_config.warehouse_path.parent.mkdir(parents=True)
    with environment(postgres_server.env(DATABASE)):
        result = run_dbt(pg_config, ["build", "--target", "postgres"], as_of=facts.now)
    return {
        "duckdb": duck_config.warehouse_path,
        "manifest": manifest,
        "pg_manifest": _manifest(pg_config),
        "pg_config": pg_config,
        "copied": copied,
        "result": result,
        "facts": facts,
    }


def test_sources_copied_whole(built):
    duck = duckdb.connect(str(built["duckdb"]), read_only=True)
    try:
        for table, n in built["copied"].items():
            assert n == duck.execute(f"select count(*) from {table}").fetchone()[0], table  # noqa: S608
    finally:
        duck.close()
    # the sample fills the tables the marts start from
    assert built["copied"]["raw.comments"] == built["facts"].counts["comments"]
    assert built["copied"]["config.business_intervals"] > 0


def test_dbt_build_passes_on_postgres_with_every_test(built):
    result = built["result"]
    failures = [f"{n.resource_type} {n.name}: {n.status}: {n.message[:300]}" for n in result.failures]
    assert result.success and not failures, "\n".join(failures)
    by_type: dict[str, set[str]] = {}
    for n in result.nodes:
        by_type.setdefault(n.resource_type, set()).add(n.status)
    # every model built, every data and unit test ran and passed, nothing skipped
    models = {n["name"] for n in built["pg_manifest"]["nodes"].values() if n["resource_type"] == "model"}
    assert set(result.models_built) == models
    assert by_type.get("model") == {"success"}
    assert by_type.get("test") == {"pass"}
    assert by_type.get("unit_test") == {"pass"}
    unit_tests = [n for n in built["pg_manifest"]["unit_tests"].values()]
    assert len([n for n in result.nodes if n.resource_type == "unit_test"]) == len(unit_tests) > 0


def _models(manifest) -> list[tuple[str, str]]:
    """(schema, name) of every model, marts first."""
    models = [(n["schema"], n["name"]) for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    return sorted(models, key=lambda m: (m[0] != "marts", m))


def _compare_every_model(built, postgres_server) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Rows per model on DuckDB, and what differs on PostgreSQL, per model."""
    duck = duckdb.connect(str(built["duckdb"]), read_only=True)
    pg = postgres_server.connect(DATABASE)
    compared: dict[str, int] = {}
    differences: dict[str, list[str]] = {}
    try:
        for schema, name in _models(built["manifest"]):
            columns = duck.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, name],
            ).fetchall()
            with pg.cursor() as cur:
                cur.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = %s and table_name = %s order by ordinal_position",
                    [schema, name],
                )
                pg_columns = [r[0] for r in cur.fetchall()]
            assert [c for c, _ in columns] == pg_columns, f"{schema}.{name}: columns differ"
            select = "select " + ", ".join(f'"{c}"' for c, _ in columns) + f" from {schema}.{name}"
            duck_rows = duck.execute(select).fetchall()
            with pg.cursor() as cur:
                cur.execute(select)
                pg_rows = cur.fetchall()
            compared[f"{schema}.{name}"] = len(duck_rows)
            found = mart_compare.differences(columns, duck_rows, pg_rows)
            if found:
                differences[f"{schema}.{name}"] = found
    finally:
        duck.close()
        pg.close()
    return compared, differences


def test_every_model_identical_on_both_warehouses(built, postgres_server):
    compared, differences = _compare_every_model(built, postgres_server)
    assert not differences, json.dumps(differences, indent=1, default=str)
    marts = {k: n for k, n in compared.items() if k.startswith("marts.")}
    # the comparison compared something: every mart of the project, each with rows from the sample
    assert len(marts) >= 15, marts
    assert [k for k, n in marts.items() if n == 0] == []
    # the planted crisis is in both (the crisis marts are the most dialect-heavy SQL)
    assert compared["marts.fct_crisis_incidents"] > 0


def test_an_incremental_run_on_postgres_keeps_every_model_identical(built, postgres_server):
    """The incremental models' own SQL (pre-hooks that delete, look-back windows, the SLA status
    refresh) only runs when their table exists: a second run at the same instant takes that path on
    PostgreSQL and must leave every model as DuckDB's full build has it."""
    with environment(postgres_server.env(DATABASE)):
        result = run_dbt(built["pg_config"], ["run", "--target", "postgres"], as_of=built["facts"].now)
    assert result.success, [f"{n.name}: {n.message[:300]}" for n in result.failures]
    incremental = {
        n["name"]
        for n in built["pg_manifest"]["nodes"].values()
        if n["resource_type"] == "model" and n["config"]["materialized"] == "incremental"
    }
    assert {"stg_social__comments", "fct_crisis_signals", "fct_sla_events"} <= incremental
    assert incremental <= set(result.models_built)
    compared, differences = _compare_every_model(built, postgres_server)
    assert not differences, json.dumps(differences, indent=1, default=str)
