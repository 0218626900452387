"""The dbt project on a real PostgreSQL gives the models it gives on DuckDB.

The demo's sample community (seed 7, 90 days, its end pinned to a fixed day) lands in two batches, the
cut inside its planted crisis. After each, DuckDB is imported, enriched and built at the batch's instant
(the second at the sample's own instant, as `make demo` evaluates it); the tables the dbt sources read
(raw and config, listed from dbt's manifest, so a new source is copied without touching this test) are
copied into PostgreSQL by COPY, and `dbt build --target postgres` runs there at the same instant: every
model, data test and unit test must pass. The second build takes the incremental models' own path on
PostgreSQL; then every model, marts first, must hold the same rows as on DuckDB
(tests/postgres/mart_compare.py states the numeric tolerance), and again after a `--full-refresh` on
PostgreSQL. The dbt unit tests include `published_at_parsed_alike_on_every_engine` (parse_ts, the
macro that differs most between the engines, on hand-computed instants).

PostgreSQL receives DuckDB's raw, config and state tables through `tertulia migrate` (tertulia/migrate.py)
and dbt runs there through `TERTULIA_WAREHOUSE=postgresql://...` as `tertulia build` does. What this does
not cover yet: the Python steps (import, enrichment, quality, alerts) write to DuckDB only
(docs/operations.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from tertulia import migrate, pipeline
from tertulia.dbt_runner import run_dbt
from tertulia.sample import write_sample
from tertulia.warehouse import postgres_warehouse
from tests.dbt.test_incremental_equals_full import RUN_STAMPS, _config, compared_models, split_bundle
from tests.postgres import mart_compare

pytestmark = pytest.mark.integration

# The demo's sample (tertulia demo: seed 7, 90 days), ending on a fixed day so the test is the same
# every day it runs.
SAMPLE_END = dt.date(2025, 3, 20)
DATABASE = "tertulia_marts"
# dbt and the copy connect as this role: the database's owner, no superuser (docs/operations.md says
# what the dbt user needs).
ROLE = "tertulia_dbt"


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
    duck_config = _config(tmp / "duckdb")
    # Its own dbt folder: dbt's partial-parse state belongs to one target.
    pg_config = _config(tmp / "postgres")
    facts = write_sample(tmp / "sample", days=90, seed=7, end=SAMPLE_END)
    # Two batches, each landed and built on both warehouses: the cut falls inside the planted crisis,
    # so the second build continues it on the incremental path.
    cuts = [facts.crisis_start + dt.timedelta(minutes=40), facts.now]
    batches = split_bundle(tmp / "sample", tmp / "batches", cuts, ZoneInfo(duck_config.community.timezone))
    postgres_server.create_database(DATABASE, owner=ROLE)
    pg_results = []
    for bundle, as_of in zip(batches, cuts, strict=True):
        pipeline.prepare_warehouse(duck_config)
        report = pipeline.import_files(duck_config, bundle)
        assert not report.errors, report.errors
        pipeline.enrich(duck_config)
        pipeline.build(duck_config, as_of=as_of, run_tests=as_of == facts.now)
        manifest = _manifest(duck_config)
        # the tables the dbt sources read, from the manifest: a new source is copied too
        sources = sorted({(n["schema"], n["identifier"]) for n in manifest["sources"].values()})
        duck_file = duck_config.warehouse_path
        # As a team moves: `tertulia migrate` copies raw, config and state, then dbt builds on the
        # server named by TERTULIA_WAREHOUSE (a URL without its password, which is in PGPASSWORD).
        url = postgres_server.url(DATABASE, ROLE)
        with environment({**postgres_server.env(DATABASE, ROLE), "TERTULIA_WAREHOUSE": url}):
            copied = migrate.migrate(
                duck_file, postgres_warehouse(url, where="test", password_allowed=False)
            ).rows
            assert pg_config.on_postgres
            pg_results.append(run_dbt(pg_config, ["build"], as_of=as_of))
        assert {f"{s}.{t}" for s, t in sources} <= set(copied), "a dbt source was not migrated"
    return {
        "duckdb": duck_config.warehouse_path,
        "manifest": manifest,
        "pg_manifest": _manifest(pg_config),
        "pg_config": pg_config,
        "copied": copied,
        "results": pg_results,
        "facts": facts,
    }


def test_sources_copied_whole(built):
    duck = duckdb.connect(str(built["duckdb"]), read_only=True)
    try:
        for table, n in built["copied"].items():
            assert n == duck.execute(f"select count(*) from {table}").fetchone()[0], table  # noqa: S608
    finally:
        duck.close()
    # the whole sample, after both batches (the second copy replaced the first one's rows)
    assert built["copied"]["raw.comments"] == built["facts"].counts["comments"]
    assert built["copied"]["config.business_intervals"] > 0


def test_dbt_build_passes_on_postgres_with_every_test(built):
    models = {n["name"] for n in built["pg_manifest"]["nodes"].values() if n["resource_type"] == "model"}
    unit_tests = list(built["pg_manifest"]["unit_tests"].values())
    for result in built["results"]:
        failures = [f"{n.resource_type} {n.name}: {n.status}: {n.message[:300]}" for n in result.failures]
        assert result.success and not failures, "\n".join(failures)
        by_type: dict[str, set[str]] = {}
        for n in result.nodes:
            by_type.setdefault(n.resource_type, set()).add(n.status)
        # every model built, every data and unit test ran and passed, nothing skipped
        assert set(result.models_built) == models
        assert by_type.get("model") == {"success"}
        assert by_type.get("test") == {"pass"}
        assert by_type.get("unit_test") == {"pass"}
        assert len([n for n in result.nodes if n.resource_type == "unit_test"]) == len(unit_tests) > 0


# The integer message keys (stg_social__comments' message_sk, parent_message_sk, thread_sk, and the
# models passing them on) are hashes by each warehouse's own function (macros/portable.sql,
# message_key): equal within a warehouse, different between DuckDB and PostgreSQL by design. Every
# other column is compared; the keys' own tests run in the PostgreSQL build above.
WAREHOUSE_HASH_KEYS = {"message_sk", "parent_message_sk", "thread_sk"}


def _models(manifest) -> list[tuple[str, str]]:
    """(schema, name) of every model, marts first."""
    models = [(n["schema"], n["name"]) for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    return sorted(models, key=lambda m: (m[0] != "marts", m))


def _compare_every_model(
    built,
    postgres_server,
    models: list[tuple[str, str]] | None = None,
    ignored: dict[str, set[str]] | None = None,
) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Rows per model on DuckDB, and what differs on PostgreSQL, per model: every model, or `models`
    ((schema, name) pairs) without the `ignored` columns of each."""
    duck = duckdb.connect(str(built["duckdb"]), read_only=True)
    pg = postgres_server.connect(DATABASE, ROLE)
    compared: dict[str, int] = {}
    differences: dict[str, list[str]] = {}
    try:
        for schema, name in models or _models(built["manifest"]):
            skip = (ignored or {}).get(name, set()) | WAREHOUSE_HASH_KEYS
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
            columns = [(c, t) for c, t in columns if c not in skip]
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
    # the second builds took the incremental path on PostgreSQL: SLA rows written by the first build
    # keep its batch stamp (a rebuild of everything would stamp them all with the second)
    con = postgres_server.connect(DATABASE, ROLE)
    try:
        with con.cursor() as cur:
            cur.execute("select count(distinct batch_loaded_through) from marts.fct_sla_events")
            assert cur.fetchone()[0] >= 2
    finally:
        con.close()
    compared, differences = _compare_every_model(built, postgres_server)
    assert not differences, json.dumps(differences, indent=1, default=str)
    marts = {k: n for k, n in compared.items() if k.startswith("marts.")}
    # the comparison compared something: every mart of the project, each with rows from the sample
    assert len(marts) >= 15, marts
    assert [k for k, n in marts.items() if n == 0] == []
    # the planted crisis is in both (the crisis marts are the most dialect-heavy SQL)
    assert compared["marts.fct_crisis_incidents"] > 0


def test_a_full_refresh_on_postgres_gives_the_same_models(built, postgres_server):
    """A full refresh on PostgreSQL holds what the incremental builds hold on DuckDB, compared as
    tests/dbt/test_incremental_equals_full.py compares the two paths on DuckDB: the incremental models
    and the marts, without the columns that stamp the run that wrote a row (RUN_STAMPS)."""
    with environment(postgres_server.env(DATABASE, ROLE)):
        result = run_dbt(
            built["pg_config"], ["run", "--target", "postgres", "--full-refresh"], as_of=built["facts"].now
        )
    assert result.success, [f"{n.name}: {n.message[:300]}" for n in result.failures]
    models = [(schema, name) for name, (schema, _) in sorted(compared_models(built["manifest"]).items())]
    _, differences = _compare_every_model(built, postgres_server, models, RUN_STAMPS)
    assert not differences, json.dumps(differences, indent=1, default=str)


def _bi_role_sql() -> str:
    """The read-only role's SQL exactly as docs/bi.md gives it (the block after its `bi-role` marker)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "bi.md").read_text(encoding="utf-8")
    after = text.split("<!-- bi-role:", 1)[1]
    return after.split("```sql\n", 1)[1].split("```", 1)[0]


def test_the_documented_read_only_role_reads_the_marts_and_cannot_write(built, postgres_server):
    import psycopg2
    from psycopg2 import errors

    sql = _bi_role_sql()
    assert "grant select on all tables in schema marts to tertulia_bi" in sql
    sql = sql.replace("database tertulia ", f'database "{DATABASE}" ').replace("'change-me'", "%(pw)s")
    admin = postgres_server.connect(DATABASE)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(
                "drop owned by tertulia_bi cascade" if _role_exists(cur, "tertulia_bi") else "select 1"
            )
            cur.execute("drop role if exists tertulia_bi")
            cur.execute(sql, {"pw": postgres_server.password})
    finally:
        admin.close()
    marts = sorted(
        n["name"]
        for n in built["manifest"]["nodes"].values()
        if n["resource_type"] == "model" and n["schema"] == "marts"
    )
    bi = postgres_server.connect(DATABASE, "tertulia_bi")
    owner = postgres_server.connect(DATABASE, ROLE)
    try:
        bi.autocommit = True
        with bi.cursor() as cur:
            for mart in marts:
                cur.execute(f"select count(*) from marts.{mart}")  # noqa: S608 - names from dbt's manifest
                assert cur.fetchone()[0] >= 0
            cur.execute("select count(*) from marts.fct_crisis_incidents")
            assert cur.fetchone()[0] > 0
        # a table dbt creates after the grants (a rebuild does) is readable too
        with owner.cursor() as cur:
            cur.execute("drop table if exists marts.bi_probe")
            cur.execute("create table marts.bi_probe as select 42 as answer")
        owner.commit()
        with bi.cursor() as cur:
            cur.execute("select answer from marts.bi_probe")
            assert cur.fetchone() == (42,)
        refused = [
            "insert into marts.bi_probe values (1)",
            "update marts.bi_probe set answer = 0",
            "delete from marts.bi_probe",
            "create table marts.mine (x int)",
            "drop table marts.bi_probe",
            "select count(*) from raw.comments",
            "select count(*) from config.business_intervals",
            "select count(*) from tertulia.quarantine",
            "select count(*) from staging.stg_social__comments",
        ]
        for statement in refused:
            with bi.cursor() as cur, pytest.raises(psycopg2.Error) as err:
                cur.execute(statement)
            assert isinstance(err.value, errors.InsufficientPrivilege), (statement, err.value)
        with owner.cursor() as cur:
            cur.execute("select count(*) from marts.bi_probe")
            assert cur.fetchone()[0] == 1  # nothing the role tried changed it
            cur.execute("drop table marts.bi_probe")
        owner.commit()
    finally:
        bi.close()
        owner.close()


def _role_exists(cur, name: str) -> bool:
    cur.execute("select 1 from pg_roles where rolname = %s", [name])
    return cur.fetchone() is not None
