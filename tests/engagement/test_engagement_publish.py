"""Publishing the marts for BI: pseudonymous members, atomic swaps, and readers that never block the pipeline."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from engagement_rows import add_more_posts, example_config_in, prepare_sample_warehouse

from tertulia import pipeline, warehouse
from tertulia.publish import PublishError, pseudonym, publish_marts

READER = Path(__file__).with_name("engagement_reader.py")
AS_OF = dt.datetime(2026, 3, 11, 12, 0)


@pytest.fixture(autouse=True)
def _own_warehouse(monkeypatch):
    """dbt_runner.run_dbt leaves TERTULIA_WAREHOUSE set to the last built warehouse, and that variable wins
    over every config's warehouse.path: clear it so each test uses the warehouse its config names."""
    monkeypatch.delenv("TERTULIA_WAREHOUSE", raising=False)


def _fake_marts(config) -> None:
    """Two small mart tables written directly (no dbt) for the pseudonymisation tests."""
    con = warehouse.connect(config.warehouse_path)
    try:
        con.execute("create schema if not exists marts")
        con.execute(
            "create or replace table marts.dim_members as select * from (values "
            "('instagram:u-1', 'instagram', 'u-1', 'María', 3, 'tm-ana'), "
            "('instagram:u-2', 'instagram', 'u-2', 'Jorge', 1, 'tm-luis')) "
            "as t(member_key, platform, author_id, member_name, messages, owner_member_id)"
        )
        con.execute(
            "create or replace table marts.fct_sla_events as "
            "select 'u-1' as member_id, 'tm-ana' as responder_member_id, 'met' as status"
        )
    finally:
        con.close()


def _published(config, sql):
    con = duckdb.connect(str(config.publish_dir / "tertulia_marts.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_member_ids_are_keyed_hashes_and_names_are_left_out(example_config, monkeypatch):
    monkeypatch.setenv(example_config.members.hash_secret_env, "s3cret-from-env")
    _fake_marts(example_config)
    report = publish_marts(example_config)

    expected_1 = hmac.new(b"s3cret-from-env", b"u-1", hashlib.sha256).hexdigest()[:20]
    key_1 = hmac.new(b"s3cret-from-env", b"instagram:u-1", hashlib.sha256).hexdigest()[:20]
    rows = _published(example_config, "select * from dim_members order by messages desc")
    cols = [r[0] for r in _published(example_config, "select column_name from (describe dim_members)")]
    assert cols == [
        "member_key",
        "platform",
        "author_id",
        "messages",
        "owner_member_id",
    ]  # member_name dropped
    # team member ids (<role>_member_id) are staff, kept as they are
    assert rows[0] == (key_1, "instagram", expected_1, 3, "tm-ana")
    assert pseudonym("u-1", b"s3cret-from-env") == expected_1
    assert report.secret_source == "env"
    # the SLA mart's member_id is the item's author; responder_member_id is the team member who answered
    assert _published(example_config, "select * from fct_sla_events") == [(expected_1, "tm-ana", "met")]
    assert report.hashed_columns == {
        "dim_members": ["member_key", "author_id"],
        "fct_sla_events": ["member_id"],
    }
    assert report.dropped_columns == {"dim_members": ["member_name"]}
    # written in DuckDB 1.0's storage format, so BI drivers bundling DuckDB 1.x can open it
    tags = _published(
        example_config, "select tags from duckdb_databases() where database_name = 'tertulia_marts'"
    )
    assert tags == [({"storage_version": "v1.0.0+"},)]
    assert report.rows == {"dim_members": 2, "fct_sla_events": 1}
    pq = duckdb.connect()
    try:
        parquet_ids = pq.execute(
            f"select author_id from read_parquet('{example_config.publish_dir}/parquet/dim_members.parquet') "
            "order by messages desc"
        ).fetchall()
    finally:
        pq.close()
    assert parquet_ids[0] == (expected_1,)


def test_generated_secret_is_stored_once_and_reused(example_config, monkeypatch, capsys):
    monkeypatch.delenv(example_config.members.hash_secret_env, raising=False)
    _fake_marts(example_config)
    first = publish_marts(example_config)
    ids_first = _published(example_config, "select author_id from dim_members order by author_id")
    second = publish_marts(example_config)
    ids_second = _published(example_config, "select author_id from dim_members order by author_id")
    con = warehouse.connect(example_config.warehouse_path, read_only=True)
    try:
        stored = con.execute(
            "select value from tertulia.settings where key = 'member_hash_secret'"
        ).fetchall()
    finally:
        con.close()
    assert (first.secret_source, second.secret_source) == ("generated", "warehouse")
    assert ids_first == ids_second
    assert len(stored) == 1
    secret = stored[0][0]
    assert sorted([(pseudonym("u-1", secret.encode()),), (pseudonym("u-2", secret.encode()),)]) == ids_first
    out = capsys.readouterr()
    assert secret not in out.out + out.err
    assert secret not in repr(first)


def test_config_can_publish_ids_and_names(example_config):
    cfg = example_config.model_copy(
        update={
            "members": example_config.members.model_copy(
                update={"pseudonymize": False, "publish_names": True}
            )
        }
    )
    _fake_marts(cfg)
    report = publish_marts(cfg)
    assert _published(cfg, "select author_id, member_name from dim_members order by author_id") == [
        ("u-1", "María"),
        ("u-2", "Jorge"),
    ]
    assert report.hashed_columns == {} and report.dropped_columns == {}


def test_nothing_to_publish_is_a_clear_error_and_keeps_the_old_copy(example_config):
    _fake_marts(example_config)
    publish_marts(example_config)
    con = warehouse.connect(example_config.warehouse_path)
    try:
        con.execute("drop schema marts cascade")
    finally:
        con.close()
    with pytest.raises(PublishError, match="no tables; run `tertulia build`"):
        publish_marts(example_config)
    assert _published(example_config, "select count(*) from dim_members") == [(2,)]
    leftovers = [p.name for p in example_config.publish_dir.rglob(".*tmp*")]
    assert leftovers == []


def _wait_for_lines(path: Path, n: int) -> None:
    # waits for the reader's progress, not for time: the 600 s cap only stops a hung test
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text(encoding="utf-8").splitlines()) >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"reader wrote fewer than {n} lines to {path}")


def _run_pipeline(config, first_new: int, extra_posts: int) -> None:
    """What a pipeline run does after import: land new rows, build, publish, all under the writer lock."""
    with warehouse.writer_lock(config.warehouse_path):
        con = warehouse.connect(config.warehouse_path)
        try:
            add_more_posts(con, first_new, extra_posts)
        finally:
            con.close()
        pipeline.build(config, select="+fct_post_performance", as_of=AS_OF)
        pipeline.publish(config)


@pytest.mark.integration
def test_readers_never_block_the_pipeline_nor_see_half_a_table(tmp_path):
    cfg = example_config_in(tmp_path)
    prepare_sample_warehouse(cfg)
    with warehouse.writer_lock(cfg.warehouse_path):
        pipeline.build(cfg, select="+fct_post_performance", as_of=AS_OF)
        pipeline.publish(cfg)
    versions = [3]  # the sample's posts; each run below adds posts: 3 -> 5 -> 11

    stop = tmp_path / "stop"
    fresh_out, pinned_out = tmp_path / "fresh.jsonl", tmp_path / "pinned.jsonl"
    readers = [
        subprocess.Popen([sys.executable, str(READER), mode, str(cfg.publish_dir), str(out), str(stop)])
        for mode, out in (("fresh", fresh_out), ("pinned", pinned_out))
    ]
    try:
        _wait_for_lines(fresh_out, 2)
        _wait_for_lines(pinned_out, 2)
        _run_pipeline(cfg, 0, 2)
        versions.append(5)
        _run_pipeline(cfg, 2, 6)
        versions.append(11)
        stop.touch()
        for p in readers:
            assert p.wait(timeout=600) == 0
    finally:
        for p in readers:
            if p.poll() is None:
                p.kill()

    fresh = [json.loads(line) for line in fresh_out.read_text(encoding="utf-8").splitlines()]
    pinned = [json.loads(line) for line in pinned_out.read_text(encoding="utf-8").splitlines()]
    assert [r for r in fresh + pinned if "error" in r] == []
    for r in fresh:
        # one snapshot: the table and the publish's own record of it agree, and both are a published version
        assert r["rows"] == r["recorded"]
        assert r["rows"] in versions
        assert r["parquet_rows"] in versions
    # the reader kept its snapshot while two publishes replaced the file under it
    assert {r["rows"] for r in pinned} == {3}
    # after the second run a fresh query sees the new rows
    assert fresh[-1]["rows"] == 11 and fresh[-1]["parquet_rows"] == 11
    assert fresh[0]["rows"] == 3
