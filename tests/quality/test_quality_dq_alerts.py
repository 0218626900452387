"""Data-quality alerts from stored results (no Great Expectations import: fast)."""

from __future__ import annotations

import datetime as dt

from quality_fixtures import NOW, config_in

from alerts.dq_rules import dq_alerts
from quality import results
from quality.results import Result
from tertulia import warehouse

SCOPE = {"rows_checked": 3, "rows_total": 3, "sampled": False}


def _store(con, run_id: str, run_at: dt.datetime, checked_at: dt.datetime, rows: list[Result]) -> None:
    results.ensure_tables(con)
    results.write_results(con, run_id, run_at, checked_at, rows)


def _sla_failure_run() -> list[Result]:
    return [
        Result("marts.fct_sla_events", "business minutes non-negative", "business_minutes_to_respond", False,
               "1 of 3 rows, e.g. -15.0", SCOPE),
        Result("marts.fct_sla_events", "status is met, breached, at_risk or pending", "status", True, "3 rows ok", SCOPE),
        Result("raw.comments", "created_at parses as a timestamp", "created_at", False,
               "1 of 2 rows, e.g. ayer por la tarde", {"rows_checked": 2, "rows_total": 2, "sampled": False}),
        Result("marts.fct_crisis_signals", "score non-negative", "score", True, "1 rows ok", SCOPE),
    ]  # fmt: skip


def test_quality_dq_alert_names_table_observed_values_and_held_kinds(tmp_path):
    config = config_in(tmp_path)
    con = warehouse.connect(config.warehouse_path)
    try:
        _store(con, "tq-1", NOW, NOW, _sla_failure_run())
        alerts = {a.dedupe_key: a for a in dq_alerts(con, config, NOW)}
        assert sorted(alerts) == [
            "data_quality:marts.fct_sla_events:2026-11-21",
            "data_quality:raw.comments:2026-11-21",
        ]
        sla = alerts["data_quality:marts.fct_sla_events:2026-11-21"]
        assert sla.kind == "data_quality"
        assert sla.severity == "critical"
        assert sla.title == "Data check failed on marts.fct_sla_events: SLA alerts and Digest held back"
        facts = dict(sla.facts)
        assert facts["Table"] == "marts.fct_sla_events"
        assert facts["Rows checked"] == "3"
        assert (
            facts["Failed: business minutes non-negative (business_minutes_to_respond)"]
            == "1 of 3 rows, e.g. -15.0"
        )
        assert facts["Held back"] == (
            "SLA alerts held: fct_sla_events failed 'business minutes non-negative'; "
            "Digest held: fct_sla_events failed 'business minutes non-negative'"
        )
        assert facts["Quality page"] == str(tmp_path / "quality-docs" / "index.html")
        # The expectation that passed is not reported.
        assert not any("status" in label for label in facts)
        raw = alerts["data_quality:raw.comments:2026-11-21"]
        assert raw.severity == "warning"
        assert dict(raw.facts)["Held back"] == "nothing: no alert reads this table directly"
        assert dict(raw.facts)["Failed: created_at parses as a timestamp (created_at)"] == (
            "1 of 2 rows, e.g. ayer por la tarde"
        )
    finally:
        con.close()


def test_quality_dq_alerts_follow_the_latest_run_only(tmp_path):
    config = config_in(tmp_path)
    con = warehouse.connect(config.warehouse_path)
    try:
        assert dq_alerts(con, config, NOW) == []  # no quality run yet: no table, no alert
        _store(con, "tq-1", NOW, NOW, _sla_failure_run())
        later = NOW + dt.timedelta(hours=1)
        passed = [Result("marts.fct_sla_events", "business minutes non-negative", "business_minutes_to_respond",
                         True, "3 rows ok", SCOPE)]  # fmt: skip
        _store(con, "tq-2", later, later, passed)
        assert dq_alerts(con, config, later) == []
        # Failing again the next day is a new alert (new dedupe key); the same day keeps the same key.
        next_day = NOW + dt.timedelta(days=1)
        _store(con, "tq-3", next_day, next_day, _sla_failure_run()[:1])
        [alert] = dq_alerts(con, config, next_day)
        assert alert.dedupe_key == "data_quality:marts.fct_sla_events:2026-11-22"
    finally:
        con.close()


def test_quality_dq_alert_lists_at_most_five_failures(tmp_path):
    config = config_in(tmp_path)
    con = warehouse.connect(config.warehouse_path)
    try:
        failures = [Result("marts.fct_crisis_signals", f"check {i}", "score", False, f"{i} of 9 rows", SCOPE)
                    for i in range(1, 8)]  # fmt: skip
        _store(con, "tq-1", NOW, NOW, failures)
        [alert] = dq_alerts(con, config, NOW)
        labels = [label for label, _ in alert.facts]
        assert labels == ["Table", "Rows checked", "Failed: check 1 (score)", "Failed: check 2 (score)",
                          "Failed: check 3 (score)", "Failed: check 4 (score)", "Failed: check 5 (score)",
                          "More failures", "Held back", "Quality page"]  # fmt: skip
        assert dict(alert.facts)["More failures"] == "2 more expectations; see the quality page"
        assert dict(alert.facts)["Held back"] == (
            "Crisis alerts held: fct_crisis_signals failed 'check 1', 'check 2', 'check 3' and 4 more"
        )
    finally:
        con.close()
