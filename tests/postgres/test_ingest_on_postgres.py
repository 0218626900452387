"""`tertulia ingest` (live API sources) on a PostgreSQL warehouse lands what it lands on DuckDB.

Two live sources, the local fake YouTube and Mastodon APIs the connector tests use (tests/fakes,
seeded by tests/connectors_live/live_harness.py: three posts, four member comments, one brand reply,
pages of two), are read into a DuckDB warehouse and into a PostgreSQL one by the same pipeline step at
the same pinned instant. Run 1 lands everything; then each platform gets a new comment, an edit of c3
and more views of p1, and run 2 lands only those (from the cursors run 1 left); run 3, at the same
instant, is a re-run and adds nothing. After each run both warehouses hold the same raw rows (every
column but the batch id and load time, which name the run), the same quarantine and the same cursors,
and the runs report the same counts.
"""

from __future__ import annotations

import datetime as dt

import pytest
from fakes.api_server import FakeApi

from tertulia import pipeline, warehouse
from tertulia.config import Config
from tests.connectors_live.live_harness import NOW, T0, config_for, make_fake, seed
from tests.postgres.test_import_on_postgres import ROLE, _raw
from tests.postgres.test_marts_on_postgres import environment

pytestmark = pytest.mark.integration

DATABASE = "tertulia_ingest"
SOURCES = {"yt": "youtube", "masto": "mastodon"}


@pytest.fixture
def fakes(monkeypatch):
    started: dict[str, FakeApi] = {}
    try:
        for name, platform in SOURCES.items():
            api = make_fake(platform).__enter__()
            started[name] = api
            for k, v in api.env().items():
                monkeypatch.setenv(k, v)
            seed(api)
        yield started
    finally:
        for api in started.values():
            api.__exit__(None, None, None)


def _ingest(config: Config, env: dict[str, str], now: dt.datetime) -> dict[str, tuple]:
    """The pipeline's ingest step as `tertulia ingest` runs it; per source (status, pages, counts)."""
    with (
        environment(env),
        warehouse.writer_lock(config.warehouse_location, wait_seconds=10, holder="test"),
    ):
        if not config.on_postgres:
            pipeline.prepare_warehouse(config)
        reports = pipeline.ingest_sources(config, now=now)
    return {name: (r.status, r.pages, r.landed, r.message) for name, r in reports.items()}


def _cursors(duck_file, pg) -> tuple[list, list]:
    sql = "select source, cast(cursor as varchar), last_error from tertulia.connector_state order by 1"
    import duckdb

    duck = duckdb.connect(str(duck_file), read_only=True)
    try:
        duck_rows = duck.execute(sql).fetchall()
    finally:
        duck.close()
    with pg.cursor() as cur:
        cur.execute(sql.replace("as varchar", "as text"))
        pg_rows = [tuple(r) for r in cur.fetchall()]
    pg.rollback()
    return duck_rows, pg_rows


def test_two_incremental_runs_and_a_rerun_land_alike_on_postgres(tmp_path, fakes, postgres_server):
    duck_cfg = config_for(tmp_path / "duckdb", fakes)
    pg_cfg = config_for(tmp_path / "postgres", fakes)
    duck_file = duck_cfg.warehouse_path
    duck_file.parent.mkdir(parents=True)
    postgres_server.create_database(DATABASE, owner=ROLE)
    duck_env = {"TERTULIA_WAREHOUSE": str(duck_file)}
    pg_env = {
        **postgres_server.env(DATABASE, ROLE),
        "TERTULIA_WAREHOUSE": postgres_server.url(DATABASE, ROLE),
    }
    with environment(pg_env):
        assert pg_cfg.on_postgres
    pg = postgres_server.connect(DATABASE, ROLE)
    runs: dict[str, tuple] = {}
    try:

        def both(step: str, now: dt.datetime) -> None:
            reports = (_ingest(duck_cfg, duck_env, now), _ingest(pg_cfg, pg_env, now))
            assert reports[0] == reports[1], step
            for table, (duck_rows, pg_rows) in _raw(duck_file, pg).items():
                assert duck_rows == pg_rows, f"after {step}: {table} differs"
            duck_cursors, pg_cursors = _cursors(duck_file, pg)
            assert duck_cursors == pg_cursors, f"after {step}: the cursors differ"
            assert [c[0] for c in pg_cursors] == sorted(SOURCES) and all(c[1] for c in pg_cursors)
            runs[step] = (reports[1], _raw(duck_file, pg), pg_cursors)

        both("run 1", NOW)
        for api in fakes.values():
            api.add_member_comment("c5", "p3", T0 + dt.timedelta(hours=6), "¿Y los lunes?")
            api.set_views("p1", 99)
        fakes["yt"].edit_comment("c3", T0 + dt.timedelta(hours=5), "¿Tienen descafeinado? (editado)")
        fakes["masto"].edit("c3", T0 + dt.timedelta(hours=5), "¿Tienen descafeinado? (editado)")
        later = NOW + dt.timedelta(hours=1)
        both("run 2", later)
        both("run 3", later)
    finally:
        pg.close()

    first, second, again = (runs[s][0] for s in ("run 1", "run 2", "run 3"))
    for name in SOURCES:
        assert first[name][0] == second[name][0] == again[name][0] == "ok", (first, second, again)
        # run 1: the five seeded messages (and on Mastodon nothing else)
        assert first[name][2]["comments"]["inserted"] >= 5
        # run 2: from the cursors run 1 left, the new comment and the edit, nothing landed twice
        assert second[name][2]["comments"]["inserted"] == 1, second[name]
        assert second[name][2]["comments"]["updated"] == 1, second[name]
        # run 3: a re-run at the same instant lands nothing new
        for counts in again[name][2].values():
            assert counts["inserted"] == counts["updated"] == 0, again[name]
    comments = {r[1]: r for r in runs["run 2"][1]["raw.comments"][1] if r[0] == "youtube"}
    assert "(editado)" in comments["c3"][9] and "c5" in comments
    assert runs["run 3"][1] == runs["run 2"][1] and runs["run 3"][2] != []
