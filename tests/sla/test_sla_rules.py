"""SLA alert rules on hand-built fct_sla_events rows, through `sla_alerts`: its query decides each
row's alert state at `now` (the one place it is decided) and `alert_for_row` writes the message."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb
import pytest

from alerts.sla_rules import alert_for_row, format_duration, sla_alerts
from tertulia.config import parse_config

T = dt.datetime
RECENT = dt.timedelta(hours=72)
TZ = ZoneInfo("America/Guayaquil")  # UTC-5 all year: 17:00 UTC is 12:00 there


def row(**kw):
    base = {
        "sla_event_id": "instagram:c1",
        "platform": "instagram",
        "channel": "comment",
        "account_id": "ig-main",
        "item_message": "¿Dónde está mi pedido? <@U123> *urgente*",
        "permalink": "https://instagram.example/p/1",
        "arrived_at": T(2026, 11, 23, 9, 0),
        "policy_name": "same_day",
        "target_minutes": 480,
        "is_business_time": True,
        "sla_breach_at": T(2026, 11, 23, 17, 0),
        "at_risk_at": T(2026, 11, 23, 15, 0),
        "first_response_at": None,
        "owner_member_id": "tm-ana",
    }
    return {**base, **kw}


MART_COLUMNS = (
    "sla_event_id varchar, platform varchar, channel varchar, account_id varchar, item_message varchar, "
    "permalink varchar, arrived_at timestamp, policy_name varchar, target_minutes integer, "
    "is_business_time boolean, sla_breach_at timestamp, at_risk_at timestamp, first_response_at timestamp, "
    "owner_member_id varchar"
)
# lookback_hours 72 is the news window (RECENT)
CONFIG = parse_config(
    {"community": {"name": "x", "timezone": "America/Guayaquil"}, "warehouse": {"lookback_hours": 72}}
)


def alerts_for_row(r, now, *, recent, tz):
    """The alerts the one row `r` of the mart calls for at `now`, as sla_alerts finds them."""
    assert (recent, tz) == (RECENT, CONFIG.tz)
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(f"create table marts.fct_sla_events ({MART_COLUMNS})")
    con.execute("insert into marts.fct_sla_events values (" + ", ".join("?" * len(r)) + ")", list(r.values()))
    return sla_alerts(con, CONFIG, now)


def test_pending_item_raises_nothing():
    assert alerts_for_row(row(), T(2026, 11, 23, 14, 59), recent=RECENT, tz=TZ) == []


def test_at_risk_alert():
    [a] = alerts_for_row(row(), T(2026, 11, 23, 15, 35), recent=RECENT, tz=TZ)
    assert (a.kind, a.severity, a.dedupe_key, a.thread_key) == (
        "sla",
        "warning",
        "sla:instagram:c1:at_risk",
        "sla:instagram:c1",
    )
    facts = dict(a.facts)
    assert facts["Time left"] == "1 h 25 min"
    assert a.stale_at == T(2026, 11, 23, 17, 0)  # not delivered by the deadline: overtaken, not sent late
    assert facts["Platform"] == "instagram" and facts["Channel"] == "comment"
    assert "Owner" not in facts  # the renderer's one owner line shows the owner, by name
    assert facts["Policy"] == "same_day (480 business min)"
    assert a.member_text == ("¿Dónde está mi pedido? <@U123> *urgente*",)  # raw: escaped by the renderer
    assert a.links[0].url == "https://instagram.example/p/1" and a.links[0].platform == "instagram"
    assert a.reason == "unanswered; the deadline is 2026-11-23 12:00 (America/Guayaquil)"
    assert a.owner == "tm-ana" and a.digest_group is None and not a.resolves


def test_breach_alert_same_thread_with_digest_group():
    [a] = alerts_for_row(row(), T(2026, 11, 23, 17, 10), recent=RECENT, tz=TZ)
    assert (a.severity, a.dedupe_key, a.thread_key, a.digest_group) == (
        "critical",
        "sla:instagram:c1:breached",
        "sla:instagram:c1",
        "sla_breach",
    )
    assert dict(a.facts)["Overdue by"] == "10 min"
    assert a.reason == "no reply by the brand or the team by 2026-11-23 12:00 (America/Guayaquil)"


def test_old_breach_is_history_not_news():
    assert alerts_for_row(row(), T(2026, 11, 27, 17, 1), recent=RECENT, tz=TZ) == []


def test_resolved_note_after_at_risk_or_breach_only():
    late = row(first_response_at=T(2026, 11, 23, 18, 0))
    [a] = alerts_for_row(late, T(2026, 11, 23, 19, 0), recent=RECENT, tz=TZ)
    assert (a.dedupe_key, a.thread_key, a.resolves, a.severity) == (
        "sla:instagram:c1:resolved",
        "sla:instagram:c1",
        True,
        "info",
    )
    assert a.title.startswith("Answered late")
    assert dict(a.facts)["Answered at"] == "2026-11-23 13:00 (America/Guayaquil)"
    # answered before it was ever at risk: no thread was opened, no note
    assert (
        alerts_for_row(
            row(first_response_at=T(2026, 11, 23, 10, 0)), T(2026, 11, 23, 19, 0), recent=RECENT, tz=TZ
        )
        == []
    )


def test_no_deadline_no_alert():
    # no policy matched, or no business hours ahead: the mart has no deadline to warn about
    assert (
        alerts_for_row(row(sla_breach_at=None, at_risk_at=None), T(2026, 11, 24), recent=RECENT, tz=TZ) == []
    )


def test_answered_after_now_is_still_unanswered_at_now():
    # a reply stamped after the evaluation instant (a run pinned in the past) does not answer yet
    [a] = alerts_for_row(
        row(first_response_at=T(2026, 11, 23, 18)), T(2026, 11, 23, 17, 10), recent=RECENT, tz=TZ
    )
    assert a.dedupe_key == "sla:instagram:c1:breached"


def test_a_row_without_a_known_state_is_refused_with_its_key():
    with pytest.raises(ValueError, match="SLA event instagram:c1: alert state 'met'"):
        alert_for_row({**row(), "alert_state": "met"}, T(2026, 11, 23, 19), tz=TZ)


def test_long_member_text_is_truncated():
    [a] = alerts_for_row(row(item_message="x" * 1000), T(2026, 11, 23, 16, 0), recent=RECENT, tz=TZ)
    assert len(a.member_text[0]) == 280 and a.member_text[0].endswith("…")


def test_format_duration():
    assert [format_duration(m) for m in (0, 59.6, 61, 60 * 24 + 5, 60 * 50)] == [
        "0 min",
        "1 h 00 min",
        "1 h 01 min",
        "1 d 0 h",
        "2 d 2 h",
    ]


def test_sla_alerts_reads_the_mart_and_tolerates_its_absence():
    cfg = parse_config({"community": {"name": "x"}})
    con = duckdb.connect()
    assert sla_alerts(con, cfg, T(2026, 11, 23, 16, 0)) == []
    con.execute("create schema marts")
    con.execute(
        "create table marts.fct_sla_events (sla_event_id varchar, platform varchar, channel varchar, "
        "account_id varchar, item_message varchar, permalink varchar, arrived_at timestamp, policy_name varchar, "
        "target_minutes integer, is_business_time boolean, sla_breach_at timestamp, at_risk_at timestamp, "
        "first_response_at timestamp, owner_member_id varchar)"
    )
    r = row()
    con.execute("insert into marts.fct_sla_events values (" + ", ".join("?" * len(r)) + ")", list(r.values()))
    r2 = row(
        sla_event_id="instagram:c2", at_risk_at=T(2026, 11, 23, 16, 30), sla_breach_at=T(2026, 11, 23, 18)
    )
    con.execute(
        "insert into marts.fct_sla_events values (" + ", ".join("?" * len(r2)) + ")", list(r2.values())
    )
    alerts = sla_alerts(con, cfg, T(2026, 11, 23, 16, 0, tzinfo=dt.UTC))
    assert [a.dedupe_key for a in alerts] == ["sla:instagram:c1:at_risk"]


def test_three_runs_enqueue_at_risk_breach_and_resolved_once_each_in_one_thread():
    from alerts.outbox import enqueue

    cfg = parse_config({"community": {"name": "x"}})
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create schema tertulia")
    r = row()
    con.execute(
        "create table marts.fct_sla_events as select " + ", ".join(f"? as {k}" for k in r), list(r.values())
    )
    con.execute("alter table marts.fct_sla_events alter first_response_at type timestamp")
    runs = [
        T(2026, 11, 23, 15, 35),
        T(2026, 11, 23, 15, 50),
        T(2026, 11, 23, 17, 10),
        T(2026, 11, 23, 17, 40),
    ]
    written = [enqueue(con, sla_alerts(con, cfg, now), now=now) for now in runs]
    con.execute("update marts.fct_sla_events set first_response_at = timestamp '2026-11-23 18:00:00'")
    written += [
        enqueue(con, sla_alerts(con, cfg, now), now=now)
        for now in (T(2026, 11, 23, 18, 5), T(2026, 11, 23, 19))
    ]
    assert written == [1, 0, 1, 0, 1, 0]
    assert con.execute(
        "select dedupe_key, thread_key, digest_group from tertulia.alert_outbox order by id"
    ).fetchall() == [
        ("sla:instagram:c1:at_risk", "sla:instagram:c1", None),
        ("sla:instagram:c1:breached", "sla:instagram:c1", "sla_breach"),
        ("sla:instagram:c1:resolved", "sla:instagram:c1", None),
    ]
