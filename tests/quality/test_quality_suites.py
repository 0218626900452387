"""What each suite checks and how raw frames are parsed (no Great Expectations import: fast)."""

from __future__ import annotations

import datetime as dt

from quality_fixtures import NOW, config_in

from quality import frames
from quality.suites import MART_SPECS, mart_suite, raw_suite
from tertulia import warehouse
from tertulia.contract import ENTITIES
from tertulia.raw_schema import ensure_raw_tables

SLA = next(s for s in MART_SPECS if s.name == "fct_sla_events")


def test_quality_mart_suite_skips_checks_on_absent_columns_but_requires_the_core_ones():
    columns = {
        "sla_event_id": "VARCHAR",
        "status": "VARCHAR",
        "target_minutes": "INTEGER",
        "arrived_at": "TIMESTAMP",
    }
    suite = mart_suite(SLA, columns, now=NOW, tolerance_minutes=60)
    labels = [c.label for c in suite.checks]
    # Required columns are expected even when absent, so a renamed column fails the gate.
    assert "column business_minutes_to_respond present" in labels
    assert (
        "business minutes non-negative" not in labels
    )  # needs a required column: the presence check covers it
    assert "sla_event_id unique (key)" in labels
    assert "arrived_at not in the future" in labels
    assert "status is met, breached, at_risk or pending" in labels
    assert suite.holds == frozenset({"sla", "digest"})
    # Checks on optional columns that are absent are skipped with a note.
    assert suite.notes == [
        "skipped (columns absent): first response not before arrival; at-risk time not after breach time"
    ]


def test_quality_raw_suite_lets_planned_posts_be_in_the_future():
    calendar = raw_suite(ENTITIES["content_calendar"], set(ENTITIES["content_calendar"].column_names),
                         now=NOW, tolerance_minutes=60)  # fmt: skip
    assert "planned_at parses as a timestamp" in [c.label for c in calendar.checks]
    assert not [c for c in calendar.checks if "future" in c.label]
    comments = raw_suite(
        ENTITIES["comments"], set(ENTITIES["comments"].column_names), now=NOW, tolerance_minutes=90
    )
    [created] = [c for c in comments.checks if c.label == "created_at not in the future (> 90 min ahead)"]
    assert created.kwargs["max_value"] == dt.datetime(2026, 11, 21, 13, 30)


def test_quality_raw_frame_parses_like_staging_and_keeps_unparsed_text(tmp_path):
    config = config_in(tmp_path)  # community timezone America/Guayaquil (UTC-5, no DST)
    con = warehouse.connect(config.warehouse_path)
    try:
        ensure_raw_tables(con)
        con.execute(
            """
            insert into raw.comments (platform, comment_id, author_id, created_at, channel, like_count, _loaded_at)
            values ('x', '1', 'a', '2026-11-20T10:00:00', 'comment', ' 7 ', timestamp '2026-11-20 12:00'),
                   ('x', '2', 'a', '2026-11-20T10:00:00+01:00', 'comment', '1.5', timestamp '2026-11-20 13:00'),
                   ('x', '3', 'a', '', 'comment', null, timestamp '2026-11-20 14:00')
            """
        )
        cols = set(ENTITIES["comments"].column_names)
        f = frames.read_raw_new_rows(con, ENTITIES["comments"], cols, since=None, tz=config.community.timezone,
                                     max_rows=100)  # fmt: skip
        rows = f.df.sort_values("comment_id")
        assert [str(v) for v in rows["created_at"]] == ["2026-11-20 15:00:00", "2026-11-20 09:00:00", "NaT"]
        assert list(rows["created_at__text"].fillna("-")) == [
            "2026-11-20T10:00:00",
            "2026-11-20T10:00:00+01:00",
            "-",
        ]
        assert list(rows["like_count"].astype("Float64").fillna(-1)) == [7, -1, -1]
        assert list(rows["like_count__unparsed"].fillna("-")) == ["-", "1.5", "-"]
        assert f.through == dt.datetime(2026, 11, 20, 14, 0)
        # Only rows loaded after the watermark are read again; more than max_rows are sampled.
        newer = frames.read_raw_new_rows(con, ENTITIES["comments"], cols, since=dt.datetime(2026, 11, 20, 12, 30),
                                         tz=config.community.timezone, max_rows=1)  # fmt: skip
        assert (newer.rows_total, len(newer.df), newer.sampled) == (2, 1, True)
    finally:
        con.close()


def test_quality_gx_history_keeps_the_last_runs_only(tmp_path):
    from quality.gates import _prune_gx_history

    docs = tmp_path / "quality-docs"
    runs = ["tq-20261121T100000000000", "tq-20261121T110000000000", "tq-20261121T120000000000"]
    for run in runs:
        for base in (tmp_path / "gx" / "uncommitted" / "validations", docs / "validations"):
            (base / "raw" / "comments" / run / "20261121T100000Z").mkdir(parents=True)
    _prune_gx_history(tmp_path, docs, keep_runs=2)
    for base in (tmp_path / "gx" / "uncommitted" / "validations", docs / "validations"):
        assert sorted(p.name for p in (base / "raw" / "comments").iterdir()) == runs[1:]
