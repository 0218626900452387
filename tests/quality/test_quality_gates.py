"""The Great Expectations gates end to end on a small warehouse (GX import ~5-8 s: integration)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from quality_fixtures import NOW, config_in, good_warehouse

from quality.gates import run_quality_gates

pytestmark = pytest.mark.integration


def _failed(report) -> dict[tuple[str, str], str]:
    return {(r.suite, r.expectation): r.observed for r in report.results if r.success is False}


def test_quality_gates_pass_on_good_data_and_write_results_and_docs(tmp_path):
    config = config_in(tmp_path)
    con = good_warehouse(config)
    try:
        report = run_quality_gates(con, config, now=NOW)
        assert _failed(report) == {}
        assert report.failed == []
        assert report.held_kinds == set()
        # Every result of the run is stored, one row each, under one run id.
        stored = con.execute(
            "select count(*), count(distinct run_id), count(*) filter (where success) from tertulia.dq_results"
        ).fetchone()
        assert stored[0] == len(report.results)
        assert stored[1] == 1
        assert stored[2] == sum(1 for r in report.results if r.success)
        # The three rows checked on raw: 2 comments and 1 post snapshot, all new.
        comments = [r for r in report.results if r.suite == "raw.comments" and r.success is not None]
        assert {json.loads(json.dumps(r.details))["rows_checked"] for r in comments} == {2}
        assert report.docs_path == tmp_path / "quality-docs" / "index.html"
        assert report.docs_path.is_file()
        assert "raw.comments" in report.docs_path.read_text(encoding="utf-8")
        # Marts that do not exist yet are skipped with a note, not failed.
        assert "marts.dim_members: skipped: table absent" in report.notes
    finally:
        con.close()


def test_quality_gates_fail_on_planted_bad_mart_rows_and_hold_dependent_alerts(tmp_path):
    config = config_in(tmp_path)
    con = good_warehouse(config)
    try:
        con.execute(
            "insert into marts.fct_sla_events values "
            "('instagram:c3', 'late', 30, 10.0, -15.0, timestamp '2026-11-20 16:00', timestamp '2026-11-20 16:10', "
            "timestamp '2026-11-20 16:30')"
        )
        con.execute(
            "insert into marts.agg_engagement_daily values "
            "('facebook:fb-cafetertulia:2026-11-20', date '2026-11-20', 10, 40, 2, 3, 1.5)"
        )
        report = run_quality_gates(con, config, now=NOW)
        failed = _failed(report)
        assert failed[("marts.fct_sla_events", "business minutes non-negative")] == "1 of 3 rows, e.g. -15.0"
        assert (
            failed[("marts.fct_sla_events", "status is met, breached, at_risk or pending")]
            == "1 of 3 rows, e.g. late"
        )
        assert (
            failed[("marts.agg_engagement_daily", "reach not above impressions")]
            == "1 of 2 rows, e.g. reach 40 > impressions 10"
        )
        assert (
            failed[("marts.agg_engagement_daily", "engagement rate within [0, 1]")] == "1 of 2 rows, e.g. 1.5"
        )
        assert sorted(report.failed) == ["marts.agg_engagement_daily", "marts.fct_sla_events"]
        # Crisis signals passed: crisis alerts still go out; SLA alerts and the digest wait.
        assert report.held_kinds == {"sla", "digest"}
        assert report.held_reasons["sla"].startswith("SLA alerts held: fct_sla_events failed ")
        assert "'business minutes non-negative'" in report.held_reasons["sla"]
        stored = con.execute(
            'select suite, expectation, "column", observed from tertulia.dq_results '
            "where success = false and suite = 'marts.fct_sla_events' order by expectation"
        ).fetchall()
        assert stored == [
            ("marts.fct_sla_events", "business minutes non-negative", "business_minutes_to_respond",
             "1 of 3 rows, e.g. -15.0"),
            ("marts.fct_sla_events", "status is met, breached, at_risk or pending", "status", "1 of 3 rows, e.g. late"),
        ]  # fmt: skip
        assert "FAILED marts.fct_sla_events" in report.render()
    finally:
        con.close()


def test_quality_gates_check_only_new_raw_rows(tmp_path):
    config = config_in(tmp_path)
    con = good_warehouse(config)
    try:
        first = run_quality_gates(con, config, now=NOW)
        assert not first.failed
        # Nothing landed since: the raw suites have nothing to check.
        second = run_quality_gates(con, config, now=NOW + dt.timedelta(hours=1))
        raw = {r.suite: r.observed for r in second.results if r.suite.startswith("raw.")}
        assert raw["raw.comments"] == "no new rows since the last check"
        # A new batch with one bad timestamp, one future one and a negative counter.
        con.execute(
            """
            insert into raw.comments (platform, comment_id, author_id, created_at, channel, like_count, _loaded_at)
            values ('instagram', 'c3', 'a3', 'ayer por la tarde', 'comment', '-2', timestamp '2026-11-21 12:30'),
                   ('instagram', 'c4', 'a3', '2026-11-22T14:01:00Z', 'comment', '1', timestamp '2026-11-21 12:30')
            """
        )
        third = run_quality_gates(con, config, now=NOW + dt.timedelta(hours=2))
        failed = _failed(third)
        assert (
            failed[("raw.comments", "created_at parses as a timestamp")]
            == "1 of 2 rows, e.g. ayer por la tarde"
        )
        assert failed[("raw.comments", "like_count non-negative")] == "1 of 2 rows, e.g. -2"
        # now + 2 h = 14:00 UTC on the 21st, tolerance 24 h: 14:01 on the 22nd is in the future.
        future = failed[("raw.comments", "created_at not in the future (> 24 h ahead)")]
        assert future == "1 of 2 rows, e.g. 2026-11-22 14:01:00"
        # Raw failures tell the data channel but hold no alert kind.
        assert third.failed == ["raw.comments"]
        assert third.held_kinds == set()
        runs = con.execute("select count(distinct run_id) from tertulia.dq_results").fetchone()[0]
        assert runs == 3
    finally:
        con.close()


@pytest.mark.parametrize(
    ("planted", "suite", "expectation", "observed", "held"),
    [
        (
            "insert into marts.fct_crisis_signals values "
            "('instagram:ig-cafetertulia:2026-11-20T11', timestamp '2026-11-20 11:00', 4, 9, 2.0, 2.0, 0.5, 0)",
            "marts.fct_crisis_signals",
            "negative messages not above inbound messages",
            "1 of 2 rows, e.g. negative_count 9 > inbound_count 4",
            {"crisis"},
        ),
        (
            "insert into marts.agg_engagement_daily values "
            "('instagram:ig-cafetertulia:2026-11-21', date '2026-11-21', -5, null, 0, 0, null)",
            "marts.agg_engagement_daily",
            "impressions non-negative",
            "1 of 2 rows, e.g. -5",
            {"digest"},
        ),
        (
            "insert into marts.fct_sla_events values ('instagram:c1', 'met', 480, 12.0, 6.0, "
            "timestamp '2026-11-20 15:00', timestamp '2026-11-20 15:12', timestamp '2026-11-21 14:00')",
            "marts.fct_sla_events",
            "sla_event_id unique (key)",
            "2 of 3 rows, e.g. instagram:c1, instagram:c1",
            {"sla", "digest"},
        ),
    ],
    ids=["crisis", "engagement", "sla-duplicate-key"],
)
def test_quality_gates_hold_only_the_kinds_reading_the_failed_mart(
    tmp_path, planted, suite, expectation, observed, held
):
    config = config_in(tmp_path)
    con = good_warehouse(config)
    try:
        con.execute(planted)
        report = run_quality_gates(con, config, now=NOW)
        assert _failed(report) == {(suite, expectation): observed}
        assert report.failed == [suite]
        assert report.held_kinds == held
    finally:
        con.close()


def test_quality_gates_rebuild_an_unreadable_gx_project(tmp_path):
    config = config_in(tmp_path)
    con = good_warehouse(config)
    try:
        run_quality_gates(con, config, now=NOW)
        (tmp_path / "gx" / "great_expectations.yml").write_text("config_version: [not, a, number\n")
        report = run_quality_gates(con, config, now=NOW)
        assert report.failed == []
        assert any(n.startswith("GX project was unreadable") for n in report.notes)
        assert (tmp_path / "gx" / "great_expectations.yml").is_file()
        assert len(list(tmp_path.glob("gx.unreadable-*"))) == 1
    finally:
        con.close()


def test_quality_page_reads_offline_in_local_time_and_escapes_data(tmp_path):
    config = config_in(tmp_path)
    con = good_warehouse(config)
    try:
        # A failing value that is member text trying to become markup.
        con.execute(
            "insert into marts.fct_sla_events values "
            "('instagram:c3', '<script>alert(1)</script>', 30, 10.0, 5.0, timestamp '2026-11-20 16:00', "
            "timestamp '2026-11-20 16:10', timestamp '2026-11-20 16:30')"
        )
        report = run_quality_gates(con, config, now=NOW)
        assert report.docs_path == tmp_path / "quality-docs" / "index.html"
        assert report.gx_docs_path == tmp_path / "quality-docs" / "gx" / "index.html"
        page = report.docs_path.read_text(encoding="utf-8")
        # Nothing loads from elsewhere: no script, no remote stylesheet.
        assert "<script" not in page.replace("&lt;script&gt;", "")
        assert "http://" not in page and "https://" not in page and "<link" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        # NOW is 2026-11-21 12:00 UTC: 07:00 in Guayaquil (UTC-5), with the zone named.
        assert "data as of 2026-11-21 07:00 (America/Guayaquil)" in page
        assert "1 check(s) failed in 1 table(s): marts.fct_sla_events." in page
        assert "status is met, breached, at_risk or pending" in page
    finally:
        con.close()
