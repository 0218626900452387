"""`tertulia migrate --to postgresql://...` on a real server: what it copies, and that a second run
replaces the copy instead of adding to it. (That marts built from a migrated warehouse equal DuckDB's
is tests/postgres/test_marts_on_postgres.py.)"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from tertulia import pipeline
from tertulia.cli import app
from tertulia.config import load_config

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DATABASE = "tertulia_migrate"


@pytest.fixture
def duckdb_warehouse(tmp_path, monkeypatch):
    """A community.yml whose DuckDB warehouse holds the pipeline's empty raw and state tables and
    community.yml's config tables (what `tertulia import` prepares), plus one quarantined row."""
    monkeypatch.delenv("TERTULIA_WAREHOUSE", raising=False)
    data = yaml.safe_load((REPO / "community.example.yml").read_text(encoding="utf-8"))
    data["warehouse"] = {**data["warehouse"], "path": str(tmp_path / "warehouse.duckdb")}
    config_file = tmp_path / "community.yml"
    config_file.write_text(yaml.safe_dump(data), encoding="utf-8")
    cfg = load_config(config_file)
    pipeline.prepare_warehouse(cfg)
    con = duckdb.connect(str(cfg.warehouse_path))
    try:
        # member text with the characters CSV must carry: a quote, a comma, a newline, an empty string
        con.execute(
            "insert into tertulia.quarantine values ('comments', 'comments.csv', 7, '[\"ig\",\"c1\"]', ?, "
            "'bad_ts', 'published_at is not a time', 'b1', timestamp '2025-03-01 10:00:00', null)",
            ['{"text": "hola, \\"amigos\\"\\nsegunda línea", "empty": ""}'],
        )
        for _ in range(3):  # three alerts were enqueued: the outbox's next id is 4
            con.execute("select nextval('tertulia.alert_outbox_seq')")
        counts = {
            f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]  # noqa: S608
            for s, t in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_type = 'BASE TABLE' and table_schema in ('raw', 'config', 'tertulia')"
            ).fetchall()
        }
    finally:
        con.close()
    return config_file, counts


def test_migrate_copies_every_table_and_a_second_run_replaces_the_copy(
    duckdb_warehouse, postgres_server, monkeypatch
):
    config_file, counts = duckdb_warehouse
    postgres_server.create_database(DATABASE)
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    url = postgres_server.url(DATABASE)
    for _ in range(2):
        result = CliRunner().invoke(app, ["migrate", "--to", url, "-c", str(config_file)])
        assert result.exit_code == 0, result.output
    assert f"Copied {len(counts)} tables ({sum(counts.values())} rows) to {url}" in result.output
    assert counts["tertulia.quarantine"] == 1 and counts["config.sla_policies"] > 0
    con = postgres_server.connect(DATABASE)
    try:
        with con.cursor() as cur:
            for table, n in counts.items():
                cur.execute(f"select count(*) from {table}")  # noqa: S608 - names from information_schema
                assert cur.fetchone()[0] == n, table  # the second run replaced, did not append
            cur.execute(
                "select record ->> 'text', record ->> 'empty', source_line, released_at from tertulia.quarantine"
            )
            assert cur.fetchone() == ('hola, "amigos"\nsegunda línea', "", 7, None)
            cur.execute("select nextval('tertulia.alert_outbox_seq')")
            assert cur.fetchone()[0] == 4
            # keys carried over: the state tables' primary keys exist on the server
            cur.execute(
                "select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid "
                "and a.attnum = any(i.indkey) where i.indisprimary and i.indrelid = 'tertulia.alert_threads'::regclass"
            )
            assert {r[0] for r in cur.fetchall()} == {"thread_key", "channel"}
    finally:
        con.close()


def test_migrate_names_a_server_it_cannot_reach(duckdb_warehouse, monkeypatch):
    config_file, _ = duckdb_warehouse
    monkeypatch.setenv("PGPASSWORD", "whatever")
    result = CliRunner().invoke(
        app,
        ["migrate", "--to", "postgresql://nobody@127.0.0.1:1/x?connect_timeout=2", "-c", str(config_file)],
    )
    assert result.exit_code == 1
    assert "cannot connect to the PostgreSQL warehouse postgresql://nobody@127.0.0.1:1/x" in result.output
