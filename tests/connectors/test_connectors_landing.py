"""connectors.landing: the merge rules (insert, newer version replaces, identical unchanged), row rules
in SQL, quarantine release, and one transaction per batch."""

from __future__ import annotations

import duckdb
import pytest

import connectors.landing as landing
from connectors.landing import land_records, land_relation
from tertulia.raw_schema import ensure_raw_tables


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("create schema tertulia")
    ensure_raw_tables(c)
    yield c
    c.close()


def comment(cid: str, **kw) -> dict:
    base = {
        "platform": "facebook",
        "comment_id": cid,
        "post_id": "p1",
        "author_id": "u1",
        "created_at": "2026-03-01T10:00:00-05:00",
        "message": "hola",
        "channel": "comment",
    }
    return {**base, **kw}


def raw(con, table: str, cols: str = "comment_id, message"):
    return con.execute(f"select {cols} from raw.{table} order by all").fetchall()


def open_quarantine(con):
    return con.execute(
        "select entity, source_line, rule from tertulia.quarantine where released_at is null order by all"
    ).fetchall()


def test_connectors_land_records_insert_then_identical_is_unchanged(con):
    first = land_records(con, "comments", [comment("c1"), comment("c2")], source="facebook", batch_id="b1")
    assert (first.rows_in, first.inserted, first.updated, first.unchanged, first.quarantined) == (
        2,
        2,
        0,
        0,
        0,
    )
    second = land_records(con, "comments", [comment("c1"), comment("c2")], source="facebook", batch_id="b2")
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 2)
    assert con.execute("select count(*), min(_batch_id), max(_batch_id) from raw.comments").fetchone() == (
        2,
        "b1",
        "b1",
    )


def test_connectors_newer_version_replaces_older_is_kept(con):
    land_records(
        con,
        "comments",
        [comment("c1", updated_at="2026-03-01T11:00:00-05:00", message="v2")],
        source="api",
        batch_id="b1",
    )
    older = land_records(
        con,
        "comments",
        [comment("c1", updated_at="2026-03-01T10:30:00-05:00", message="v1")],
        source="api",
        batch_id="b2",
    )
    assert (older.updated, older.unchanged) == (0, 1)
    assert any("older than what the warehouse holds" in m for m in older.messages)
    assert raw(con, "comments") == [("c1", "v2")]
    # 16:30Z is 11:30 in Guayaquil: newer than 11:00-05:00 although the text sorts lower.
    newer = land_records(
        con,
        "comments",
        [comment("c1", updated_at="2026-03-01T16:30:00Z", message="v3")],
        source="api",
        batch_id="b3",
    )
    assert newer.updated == 1
    assert raw(con, "comments") == [("c1", "v3")]


def test_connectors_naive_version_is_read_in_the_given_timezone(con):
    land_records(
        con,
        "comments",
        [comment("c1", updated_at="2026-03-01T15:30:00Z", message="utc")],
        source="api",
        batch_id="b1",
    )
    # 11:00 in Guayaquil is 16:00Z: newer. Read as UTC it would be older and be ignored.
    r = land_records(
        con,
        "comments",
        [comment("c1", updated_at="2026-03-01T11:00:00", message="local")],
        source="api",
        batch_id="b2",
        timezone="America/Guayaquil",
    )
    assert r.updated == 1
    assert raw(con, "comments") == [("c1", "local")]


def test_connectors_without_version_any_change_replaces(con):
    acc = {"platform": "instagram", "account_id": "ig1", "handle": "cafe", "name": "Café"}
    land_records(con, "accounts", [acc], source="api", batch_id="b1")
    r = land_records(con, "accounts", [{**acc, "name": "Café Tertulia"}], source="api", batch_id="b2")
    assert (r.inserted, r.updated, r.unchanged) == (0, 1, 0)
    assert raw(con, "accounts", "account_id, name") == [("ig1", "Café Tertulia")]
    # An extra field that changes also counts as a change (extras are kept).
    r = land_records(
        con, "accounts", [{**acc, "name": "Café Tertulia", "followers": 10}], source="api", batch_id="b3"
    )
    assert r.updated == 1
    assert con.execute("select _extra->>'followers' from raw.accounts").fetchone() == ("10",)


def test_connectors_records_with_non_text_values_land_as_text(con):
    r = land_records(
        con,
        "comments",
        [comment("c1", like_count=3, is_deleted=False, tags=["a", "b"])],
        source="api",
        batch_id="b1",
    )
    assert r.inserted == 1
    row = con.execute("select like_count, is_deleted, _extra->>'tags' from raw.comments").fetchone()
    assert row == ("3", "false", '["a","b"]')


def test_connectors_row_rules_quarantine_with_reason(con):
    records = [
        comment("c1"),
        comment("c2", created_at=""),
        comment("c3", channel="fax"),
        comment("c4", like_count="3.5"),
        comment("c5", created_at="2026-02-30T10:00:00"),
    ]
    r = land_records(con, "comments", records, source="api", batch_id="b1")
    assert (r.inserted, r.quarantined) == (1, 4)
    assert open_quarantine(con) == [
        ("comments", 2, "missing_value"),
        ("comments", 3, "unknown_value"),
        ("comments", 4, "not_an_integer"),
        ("comments", 5, "bad_timestamp"),
    ]
    reasons = [
        row[0]
        for row in con.execute("select reason from tertulia.quarantine order by source_line").fetchall()
    ]
    assert reasons[1] == "unknown channel 'fax'; expected one of comment, reply, mention, dm, review, email"
    assert "api line 3: unknown channel 'fax'" in r.messages[1]
    # The whole record is kept in quarantine, as delivered.
    rec = con.execute(
        "select record->>'channel', record_key from tertulia.quarantine where source_line = 3"
    ).fetchone()
    assert rec == ("fax", '["facebook","c3"]')


def test_connectors_future_rule_spares_the_content_calendar(con):
    plan = {
        "planned_id": "k1",
        "platform": "instagram",
        "account_id": "ig1",
        "planned_at": "2099-01-01T10:00:00",
    }
    r = land_records(con, "content_calendar", [plan], source="api", batch_id="b1")
    assert (r.inserted, r.quarantined) == (1, 0)
    day = {"platform": "instagram", "account_id": "ig1", "date": "2099-01-01", "followers": "5"}
    r = land_records(con, "account_metrics", [day], source="api", batch_id="b1")
    assert (r.inserted, r.quarantined) == (0, 1)
    assert open_quarantine(con) == [("account_metrics", 1, "future_timestamp")]


def test_connectors_counter_decrease_is_checked_against_the_warehouse(con):
    def snap(at: str, impressions: str) -> dict:
        return {"platform": "instagram", "post_id": "p1", "captured_at": at, "impressions": impressions}

    land_records(con, "post_metrics", [snap("2026-03-01T10:00:00Z", "100")], source="api", batch_id="b1")
    r = land_records(
        con,
        "post_metrics",
        [snap("2026-03-02T10:00:00Z", "90"), snap("2026-03-03T10:00:00Z", "130")],
        source="api",
        batch_id="b2",
    )
    assert (r.inserted, r.quarantined) == (1, 1)
    reason = con.execute("select reason from tertulia.quarantine").fetchone()[0]
    assert reason == "lifetime counters lower than an earlier capture of the same post: impressions 100 → 90"
    # Compared with the highest earlier capture, not only the one just before: 130 then 120 and 125.
    r = land_records(
        con,
        "post_metrics",
        [
            snap("2026-03-04T10:00:00Z", "120"),
            snap("2026-03-05T10:00:00Z", "125"),
            snap("2026-03-06T10:00:00Z", "131"),
        ],
        source="api",
        batch_id="b3",
    )
    assert (r.inserted, r.quarantined) == (1, 2)
    assert con.execute(
        "select source_line, reason from tertulia.quarantine where batch_id = 'b3' order by 1"
    ).fetchall() == [
        (1, "lifetime counters lower than an earlier capture of the same post: impressions 130 → 120"),
        (2, "lifetime counters lower than an earlier capture of the same post: impressions 130 → 125"),
    ]


def test_connectors_fixed_record_releases_its_quarantine_row(con):
    land_records(con, "comments", [comment("c1", created_at="yesterday")], source="api", batch_id="b1")
    assert open_quarantine(con) == [("comments", 1, "bad_timestamp")]
    # The same bad record again is not held twice.
    again = land_records(
        con, "comments", [comment("c1", created_at="yesterday")], source="api", batch_id="b2"
    )
    assert again.quarantined == 1
    assert con.execute("select count(*) from tertulia.quarantine").fetchone() == (1,)
    fixed = land_records(con, "comments", [comment("c1")], source="api", batch_id="b3")
    assert (fixed.inserted, fixed.released) == (1, 1)
    assert open_quarantine(con) == []
    assert con.execute(
        "select count(*) from tertulia.quarantine where released_at is not null"
    ).fetchone() == (1,)


def test_connectors_a_failure_mid_batch_leaves_raw_and_quarantine_as_before(con, monkeypatch):
    land_records(con, "comments", [comment("c1")], source="api", batch_id="b1")

    class Exploding(dict):
        def get(self, *args):
            raise RuntimeError("boom after the writes")

    # ADVICE is read while writing messages, after raw and quarantine were written in the transaction.
    monkeypatch.setattr(landing, "ADVICE", Exploding())
    with pytest.raises(RuntimeError, match="boom"):
        land_records(
            con,
            "comments",
            [comment("c1", message="changed"), comment("c2"), comment("c3", channel="x")],
            source="api",
            batch_id="b2",
        )
    assert raw(con, "comments") == [("c1", "hola")]
    assert open_quarantine(con) == []
    # The connection is usable again and the same batch lands once.
    monkeypatch.undo()
    r = land_records(
        con,
        "comments",
        [comment("c1", message="changed"), comment("c2"), comment("c3", channel="x")],
        source="api",
        batch_id="b3",
    )
    assert (r.inserted, r.updated, r.quarantined) == (1, 1, 1)


def test_connectors_land_relation_requires_the_contract_columns(con):
    with pytest.raises(ValueError, match="no column"):
        land_relation(con, "accounts", "select 'instagram' as platform", source="x", batch_id="b1")
    with pytest.raises(ValueError, match="unknown entity"):
        land_records(con, "likes", [], source="x", batch_id="b1")
