"""A PostgreSQL import or enrichment copies what its batch needs into the scratch DuckDB, not history.

Two hand-made batches go through `tertulia import` and `tertulia enrich` on a PostgreSQL warehouse
while every copy from the server into the scratch DuckDB (`tertulia.migrate.pull_tables`) is counted,
and through the same steps on DuckDB, which must end with the same raw rows. Batch 1: comments c1, c2,
c3 and captures of post p1 (two) and p2 (one). Batch 2: a new comment c4, an edit of c1, a third
capture of p1. Counted by hand from the landing's rules (connectors/landing.py):

- import 2 copies the earlier versions of its keys (c1; c4 is new): 1 comment, where the whole history
  is 3; and every earlier capture of the series it touches (p1): 2 captures of 3; no open quarantine row;
  and the comments the business calendar has not scanned yet: none, import 1 scanned them all;
- enrich 1 scores everything (nothing scored yet): 3 comments copied; enrich 2 copies only the two
  comments not scored at their current text (c4 new, c1 edited), not the 4 of history, and no
  enrichment row;
- a re-import of batch 2 copies its keys' current rows: c1 and c4, and p1's 3 captures.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import duckdb
import pytest

from tertulia import migrate, pipeline
from tertulia.config import load_config
from tertulia.contract import ENTITIES
from tests.postgres.test_import_on_postgres import ROLE, _config_file
from tests.postgres.test_marts_on_postgres import environment

pytestmark = pytest.mark.integration

DATABASE = "tertulia_scratch_copy"


def _comment(comment_id: str, message: str, updated_at: str = "") -> dict:
    return {
        "platform": "instagram",
        "comment_id": comment_id,
        "post_id": "p1",
        "parent_id": "",
        "thread_id": comment_id,
        "author_id": f"member-{comment_id}",
        "author_name": "Ana",
        "created_at": "2025-03-01T10:00:00-05:00",
        "updated_at": updated_at,
        "message": message,
        "channel": "comment",
    }


def _capture(post_id: str, day: int, impressions: int) -> dict:
    return {
        "platform": "instagram",
        "post_id": post_id,
        "captured_at": f"2025-03-{day:02d}T12:00:00Z",
        "impressions": str(impressions),
        "reach": "10",
        "reactions": "1",
        "comments": "1",
        "shares": "0",
    }


def _write(folder: Path, comments: list[dict], captures: list[dict]) -> Path:
    folder.mkdir(parents=True)
    for name, rows in (("comments.csv", comments), ("post_metrics.csv", captures)):
        with (folder / name).open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return folder


@pytest.fixture
def copies(monkeypatch) -> list[dict[str, int]]:
    """What each pull_tables call copied into a scratch DuckDB: the real function, its result kept."""
    calls: list[dict[str, int]] = []
    real = migrate.pull_tables

    def counting(*args, **kwargs):
        copied = real(*args, **kwargs)
        calls.append(copied)
        return copied

    monkeypatch.setattr(migrate, "pull_tables", counting)
    return calls


def _raw_rows(con, select: str) -> list[tuple]:
    return [tuple(r) for r in con.execute(select).fetchall()]


def test_import_and_enrich_copy_only_what_the_batch_needs(tmp_path, postgres_server, copies):
    batch1 = _write(
        tmp_path / "batch1",
        [_comment("c1", "hola"), _comment("c2", "gracias"), _comment("c3", "¿precio?")],
        [_capture("p1", 1, 100), _capture("p1", 2, 120), _capture("p2", 2, 50)],
    )
    batch2 = _write(
        tmp_path / "batch2",
        [_comment("c4", "nuevo"), _comment("c1", "editado", "2025-03-02T09:00:00-05:00")],
        [_capture("p1", 3, 130)],
    )
    postgres_server.create_database(DATABASE, owner=ROLE)
    pg_env = {
        **postgres_server.env(DATABASE, ROLE),
        "TERTULIA_WAREHOUSE": postgres_server.url(DATABASE, ROLE),
    }
    pg_cfg_file = _config_file(tmp_path / "postgres")
    duck_cfg_file = _config_file(tmp_path / "duckdb")
    duck_file = tmp_path / "duckdb" / "warehouse.duckdb"

    def step(run) -> dict[str, int]:
        """The rows one step copied into its scratch DuckDB, per history table with rows (the state
        tables of one row each, watermarks and calendar bounds, left out)."""
        copies.clear()
        with environment(pg_env):
            run(load_config(pg_cfg_file))
        total: dict[str, int] = {}
        for copied in copies:
            for table, n in copied.items():
                total[table] = total.get(table, 0) + n
        return {t: n for t, n in total.items() if n and (t.startswith("raw.") or t == "tertulia.quarantine")}

    assert step(lambda c: pipeline.import_files(c, batch1)) == {}  # an empty server: nothing to copy
    assert step(pipeline.enrich) == {"raw.comments": 3}
    assert step(lambda c: pipeline.import_files(c, batch2)) == {"raw.comments": 1, "raw.post_metrics": 2}
    assert step(pipeline.enrich) == {"raw.comments": 2}
    assert step(pipeline.enrich) == {}  # nothing left to score
    assert step(lambda c: pipeline.import_files(c, batch2)) == {"raw.comments": 2, "raw.post_metrics": 3}

    # the same steps on DuckDB end with the same raw rows, enrichment and terms
    with environment({"TERTULIA_WAREHOUSE": str(duck_file)}):
        duck_cfg = load_config(duck_cfg_file)
        pipeline.prepare_warehouse(duck_cfg)
        for bundle in (batch1, batch2):
            pipeline.import_files(duck_cfg, bundle)
            pipeline.enrich(duck_cfg)
        pipeline.import_files(duck_cfg, batch2)
    selects = [
        f"select {', '.join(ENTITIES[e].column_names)}, _source_line from raw.{e} order by 1, 2, 3"  # noqa: S608
        for e in ("comments", "post_metrics")
    ] + [
        "select platform, comment_id, content_hash, language, sentiment_label, intent, priority, keywords "
        "from raw.comment_enrichment order by 1, 2",
        "select * from raw.comment_terms order by 1, 2, 3, 4, 5, 6, 7",
    ]
    duck = duckdb.connect(str(duck_file), read_only=True)
    pg = postgres_server.connect(DATABASE, ROLE)
    try:
        with pg.cursor() as cur:
            found = []
            for sql in selects:
                cur.execute(sql)
                found.append(([tuple(r) for r in cur.fetchall()], _raw_rows(duck, sql)))
    finally:
        duck.close()
        pg.close()
    for (pg_rows, duck_rows), sql in zip(found, selects, strict=True):
        assert pg_rows == duck_rows, sql
    comments, metrics, enrichment, terms = (pg_rows for pg_rows, _ in found)
    assert [(r[1], r[9]) for r in comments] == [
        ("c1", "editado"),
        ("c2", "gracias"),
        ("c3", "¿precio?"),
        ("c4", "nuevo"),
    ]
    assert len(metrics) == 4
    # c1 scored at its edited text
    assert enrichment[0][1:3] == ("c1", hashlib.md5(b"editado").hexdigest())  # noqa: S324 - the store's hash
    assert len(enrichment) == 4 and terms
