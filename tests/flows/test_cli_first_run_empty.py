"""`tertulia run` on a fresh warehouse, the way a team starts: once before anything has landed, then with
the data. The crisis watch must find what a single run on the same data finds (issue 14: after an empty
first build the crisis models stayed empty forever), and the first run that sees old history must count
its business minutes right (the calendar used to start a year back until a later run)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from tertulia.business_calendar import business_minutes, calendar_for
from tertulia.cli import app
from tertulia.config import load_config
from tertulia.sample import write_sample

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def _config_file(base: Path) -> Path:
    data = yaml.safe_load((REPO / "community.example.yml").read_text(encoding="utf-8"))
    data["warehouse"] = {
        **data["warehouse"],
        "path": str(base / "wh.duckdb"),
        "publish_dir": str(base / "pub"),
    }
    data["bundle_dir"] = str(base / "no-bundle")
    base.mkdir(parents=True, exist_ok=True)
    path = base / "community.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _run(config: Path, bundle: Path, now: dt.datetime) -> None:
    result = CliRunner().invoke(
        app,
        ["run", "--config", str(config), "--bundle-dir", str(bundle), "--now", now.isoformat(), "--dry-run"],
    )
    assert result.exit_code == 0, result.output + repr(result.exception)


def _q(config: Path, sql: str):
    con = duckdb.connect(str(load_config(config).warehouse_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory, prefect_harness):
    base = tmp_path_factory.mktemp("first-run")
    # History more than a year before today: older than the calendar a run writes before any data.
    facts = write_sample(base / "sample", days=30, seed=3, end=dt.date(2025, 3, 20))
    empty = base / "empty"
    empty.mkdir()
    twice, once = _config_file(base / "twice"), _config_file(base / "once")
    _run(twice, empty, facts.now - dt.timedelta(days=3))
    assert _q(twice, "select count(*) from raw.comments") == [(0,)]
    _run(twice, base / "sample", facts.now)
    _run(once, base / "sample", facts.now)
    return facts, twice, once


SEVERE_HOURS = (
    "select platform, account_id, hour_at, severity from marts.fct_crisis_signals "
    "where severity in ('warning', 'critical') order by all"
)


def test_an_empty_first_run_leaves_the_crisis_watch_alive(runs):
    facts, twice, once = runs
    severe = _q(once, SEVERE_HOURS)
    # the planted crisis is seen: a critical hour within its first hour on its account
    assert any(
        r[3] == "critical" and r[0] == "instagram" and abs(r[2] - facts.crisis_start) <= dt.timedelta(hours=1)
        for r in severe
    ), severe[:10]
    assert _q(twice, SEVERE_HOURS) == severe


def test_the_first_run_on_old_history_counts_business_minutes_right(runs):
    _, twice, once = runs
    config = load_config(once)
    items = _q(
        once,
        "select sla_event_id, arrived_at, first_response_at, business_minutes_to_respond from marts.fct_sla_events "
        "where first_response_at is not null order by arrived_at",
    )
    assert len(items) > 100
    calendar = calendar_for(config, items[0][1].date() - dt.timedelta(days=2), items[-1][2].date())
    wrong = [
        (key, got, round(business_minutes(arrived, answered, calendar), 4))
        for key, arrived, answered, got in items
        if abs(got - business_minutes(arrived, answered, calendar)) > 1e-6
    ]
    assert wrong == []
    answered = (
        "select sla_event_id, business_minutes_to_respond, sla_breach_at, status from marts.fct_sla_events"
    )
    assert sorted(_q(twice, answered)) == sorted(_q(once, answered))
