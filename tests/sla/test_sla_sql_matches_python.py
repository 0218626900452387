"""The SQL business-time arithmetic agrees with the Python reference on many seeded cases around
Europe/Madrid's March 2026 DST switch and Spain's Easter holidays (Good Friday, 3 April 2026)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
import yaml

from tertulia import warehouse
from tertulia.business_calendar import business_deadline, business_minutes, calendar_for, calendar_minutes
from tertulia.config import parse_config
from tertulia.dbt_runner import build
from tertulia.pipeline import prepare_warehouse
from tests.conftest import EXAMPLE_CONFIG

pytestmark = pytest.mark.integration


AS_OF = dt.datetime(2026, 4, 20)
FACTS = (
    "select sla_event_id, policy_name, sla_breach_at, at_risk_at, first_response_at, "
    "business_minutes_to_respond, calendar_minutes_to_respond from marts.fct_sla_events"
)


def test_sql_deadlines_and_minutes_equal_python_reference(tmp_path, monkeypatch):
    # dbt_runner exports TERTULIA_WAREHOUSE, which then wins over any config: pin it to this test's file
    monkeypatch.setenv("TERTULIA_WAREHOUSE", str(tmp_path / "w.duckdb"))
    cfg, cases = land_cases(tmp_path)
    build(cfg, select="+fct_sla_events", as_of=AS_OF)
    con = warehouse.connect(cfg.warehouse_path, read_only=True)
    got = {r[0]: r[1:] for r in con.execute(FACTS).fetchall()}
    con.close()
    check_against_python(cfg, cases, got)


def land_cases(tmp_path):
    """A DuckDB warehouse at tmp_path/w.duckdb holding 60 seeded items (and their replies) around
    Madrid's DST switch and Spain's Easter, its config tables written; the config and the cases
    {sla_event_id: (arrived, reply or None, channel)}. tests/postgres runs the same cases there."""
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    data["warehouse"] = {"path": str(tmp_path / "w.duckdb"), "publish_dir": str(tmp_path / "pub")}
    data["bundle_dir"] = None
    data["community"]["timezone"] = "Europe/Madrid"
    data["business_hours"] = {
        "weekly": {
            **{d: ["09:00-14:00", "15:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
            "sat": ["10:00-13:00"],
        },
        "holidays_country": "ES",
        "extra_holidays": ["2026-03-31"],
    }
    data["sla"]["policies"] = [
        {"name": "dm_247", "match": {"channel": ["dm"]}, "target_minutes": 90, "business_time": False},
        {"name": "same_day", "target_minutes": 480, "business_time": True},
    ]
    cfg = parse_config(data, source=EXAMPLE_CONFIG, base_dir=tmp_path)
    rnd = random.Random(20260329)
    start = dt.datetime(2026, 3, 20)
    cases = {}
    rows = []
    for i in range(60):
        arrived = start + dt.timedelta(seconds=rnd.randrange(0, 20 * 86400))
        channel = "dm" if i % 4 == 0 else "comment"
        reply = arrived + dt.timedelta(seconds=rnd.randrange(60, 4 * 86400)) if i % 5 else None
        cases[f"instagram:m{i}"] = (arrived, reply, channel)
        rows.append(("instagram", f"m{i}", "", "", f"t{i}", "member", arrived, channel))
        if reply:
            rows.append(("instagram", f"r{i}", "", f"m{i}", f"t{i}", "ig-cafetertulia", reply, channel))
    prepare_warehouse(cfg)
    con = warehouse.connect(cfg.warehouse_path)
    for p, cid, post, parent, thread, author, ts, channel in rows:
        con.execute(
            "insert into raw.comments (platform, comment_id, post_id, parent_id, thread_id, author_id, created_at, "
            "channel, _loaded_at) values (?, ?, ?, ?, ?, ?, ?, ?, now()::timestamp)",
            [p, cid, post, parent, thread, author, ts.isoformat() + "Z", channel],
        )
    con.close()
    prepare_warehouse(cfg)  # the calendar now covers the comments' range
    return cfg, cases


def check_against_python(cfg, cases, got) -> None:
    """`got` (fct_sla_events rows by sla_event_id, FACTS' columns) against the Python reference."""
    cal = calendar_for(cfg, dt.date(2026, 3, 1), dt.date(2026, 5, 31))
    assert set(got) == set(cases)
    for key, (arrived, reply, channel) in cases.items():
        policy, breach, risk, answered, bmin, cmin = got[key]
        if channel == "dm":
            assert (policy, breach, risk) == (
                "dm_247",
                arrived + dt.timedelta(minutes=90),
                arrived + dt.timedelta(minutes=67.5),
            ), key
        else:
            assert policy == "same_day", key
            assert breach == business_deadline(arrived, 480, cal), key
            assert risk == business_deadline(arrived, 360, cal), key
        assert answered == reply, key
        if reply is None:
            assert (bmin, cmin) == (None, None), key
        else:
            assert bmin == pytest.approx(business_minutes(arrived, reply, cal), abs=1e-6), key
            assert cmin == pytest.approx(calendar_minutes(arrived, reply), abs=1e-6), key
