"""What is news (issue 21, item 16: the crisis rule keeps the SLA rule's look-back), one clock (every time in
the community's timezone with its label) and one owner line by name (issue 15, alerts and reports)."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest
from alerts_harness import DAYTIME, Sleeps, open_db, team_table

from alerts.crisis_rules import crisis_alerts
from alerts.delivery import deliver_pending
from alerts.dq_rules import dq_alerts
from alerts.outbox import enqueue
from alerts.render import local_time, render_message
from alerts.rules import news_window
from alerts.sla_rules import sla_alerts
from tertulia.clock import local_span

T = dt.datetime
NOW = DAYTIME  # 2026-11-20 15:00 UTC, 10:00 in Guayaquil (UTC-5 all year)

SIGNAL_INCIDENT_COLUMNS = (
    "signal_incident_id varchar, platform varchar, account_id varchar, signal varchar, started_at timestamp, "
    "last_fired_at timestamp, peak_severity varchar, peak_observed double, peak_baseline double, peak_ratio double"
)
CRISIS_COLUMNS = (
    "incident_id varchar, platform varchar, account_id varchar, started_at timestamp, last_fired_at timestamp, "
    "first_alert_at timestamp, first_alert_severity varchar, inbound_count integer, negative_count integer, "
    "post_keys varchar, top_keywords varchar"
)


def crisis_marts(con: duckdb.DuckDBPyConnection, incidents: list[tuple]) -> None:
    """Signal incidents (id, platform, account, signal, start, last fired) at critical, in
    int_crisis_signal_incidents; and in fct_crisis_incidents one crisis per run of overlapping incidents
    of an account, named after its first, alerted from its first hour, as the crisis models write them."""
    con.execute("create schema if not exists marts")
    con.execute("create schema if not exists intermediate")
    con.execute(f"create table intermediate.int_crisis_signal_incidents ({SIGNAL_INCIDENT_COLUMNS})")  # noqa: S608
    con.execute(f"create table marts.fct_crisis_incidents ({CRISIS_COLUMNS})")  # noqa: S608
    crises: list[list] = []
    for iid, platform, account, signal, start, last in sorted(incidents, key=lambda r: r[4]):
        con.execute(
            "insert into intermediate.int_crisis_signal_incidents values (?, ?, ?, ?, ?, ?, 'critical', 20, 2, 10)",
            [iid, platform, account, signal, start, last],
        )
        same = [c for c in crises if (c[1], c[2]) == (platform, account) and start < c[4]]
        if same:
            same[0][4] = max(same[0][4], last)
        else:
            crises.append([iid, platform, account, start, last])
    for iid, platform, account, start, last in crises:
        con.execute(
            "insert into marts.fct_crisis_incidents values (?, ?, ?, ?, ?, ?, 'critical', 40, 30, null, null)",
            [iid, platform, account, start, last, start],
        )


def test_the_look_back_is_one_setting_for_every_rule(example_config):
    assert news_window(example_config) == dt.timedelta(hours=72)  # warehouse.lookback_hours
    zero = example_config.model_copy(
        update={"warehouse": example_config.warehouse.model_copy(update={"lookback_hours": 0})}
    )
    assert news_window(zero) == dt.timedelta(hours=1)


def test_an_old_crisis_is_history_a_recent_one_is_news(example_config):
    con = duckdb.connect()
    crisis_marts(
        con,
        [
            # Ten days before: over on the 10th at 20:00 (3 quiet hours after 17:00). No alert at all.
            (
                "ig-old",
                "instagram",
                "ig-cafetertulia",
                "volume_spike",
                T(2026, 11, 10, 15),
                T(2026, 11, 10, 17),
            ),
            # Over at 14:59 on the 17th: one minute before the 72 h look-back (15:00 on the 17th). History.
            (
                "ig-edge",
                "instagram",
                "ig-cafetertulia",
                "volume_spike",
                T(2026, 11, 17, 9, 59),
                T(2026, 11, 17, 11, 59),
            ),
            # Over at 15:00 on the 17th, exactly at the look-back: news, opened and closed in this run.
            ("yt-1", "youtube", "yt-cafetertulia", "volume_spike", T(2026, 11, 17, 10), T(2026, 11, 17, 12)),
            # Going on now: opened, then crisis keywords joined an hour later.
            ("fb-1", "facebook", "fb-cafetertulia", "volume_spike", T(2026, 11, 20, 12), T(2026, 11, 20, 14)),
            (
                "fb-2",
                "facebook",
                "fb-cafetertulia",
                "crisis_keywords",
                T(2026, 11, 20, 13),
                T(2026, 11, 20, 14),
            ),
        ],
    )
    alerts = {a.dedupe_key: a for a in crisis_alerts(con, example_config, NOW)}
    assert sorted(alerts) == [
        "crisis:fb-1:open",
        "crisis:fb-1:signal:crisis_keywords",
        "crisis:yt-1:open",
        "crisis:yt-1:resolved",
    ]
    # One clock: 12:00 UTC is 07:00 in Guayaquil; 10:00-12:00 UTC on the 17th is 05:00-07:00 there.
    assert dict(alerts["crisis:fb-1:open"].facts)["Started"] == "2026-11-20 07:00 (America/Guayaquil)"
    assert (
        alerts["crisis:fb-1:signal:crisis_keywords"].reason
        == "crisis keywords fired at 2026-11-20 08:00 (America/Guayaquil)"
    )
    assert (
        dict(alerts["crisis:yt-1:resolved"].facts)["Lasted"]
        == "2026-11-17 05:00 to 07:00 (America/Guayaquil)"
    )
    ctx = render_message(alerts["crisis:yt-1:resolved"], tz=example_config.tz).blocks[-1]["elements"][0][
        "text"
    ]
    assert ctx == "When: 2026-11-17 10:00 (America/Guayaquil) · Why: no signal for 3 h"


def test_local_time_and_span_are_the_one_format():
    from zoneinfo import ZoneInfo

    quito, madrid = ZoneInfo("America/Guayaquil"), ZoneInfo("Europe/Madrid")
    assert local_time(T(2026, 11, 27, 20, 2), quito) == "2026-11-27 15:02 (America/Guayaquil)"
    assert local_time(T(2026, 11, 27, 20, 2, tzinfo=dt.UTC), quito) == "2026-11-27 15:02 (America/Guayaquil)"
    # Summer time: 10:00 UTC on 1 July is 12:00 in Madrid (UTC+2), 11:00 in winter (UTC+1).
    assert local_time(T(2026, 7, 1, 10), madrid) == "2026-07-01 12:00 (Europe/Madrid)"
    assert local_time(T(2026, 12, 1, 10), madrid) == "2026-12-01 11:00 (Europe/Madrid)"
    # A span over local midnight shows the end's date.
    assert (
        local_span(T(2026, 11, 21, 3), T(2026, 11, 21, 6), quito)
        == "2026-11-20 22:00 to 2026-11-21 01:00 (America/Guayaquil)"
    )


def sla_mart(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists marts")
    con.execute(
        """create table marts.fct_sla_events as select
            'instagram:c1' as sla_event_id, 'instagram' as platform, 'comment' as channel,
            'ig-cafetertulia' as account_id, '¿Dónde está mi pedido?' as item_message,
            'https://www.instagram.com/p/p1/' as permalink, timestamp '2026-11-20 13:00' as arrived_at,
            'complaint_30m' as policy_name, 30 as target_minutes, true as is_business_time,
            timestamp '2026-11-20 15:30' as sla_breach_at, timestamp '2026-11-20 15:00' as at_risk_at,
            cast(null as timestamp) as first_response_at, 'tm-ana' as owner_member_id"""
    )


def test_sla_alert_shows_local_times_only(example_config):
    con = duckdb.connect()
    sla_mart(con)
    (a,) = sla_alerts(con, example_config, NOW)
    msg = render_message(a, tz=example_config.tz)
    assert msg.blocks[-2]["elements"][0]["text"] == (
        "When: 2026-11-20 10:00 (America/Guayaquil) · Why: unanswered; the deadline is 2026-11-20 10:30 "
        "(America/Guayaquil)"
    )
    assert "UTC" not in json.dumps(msg.blocks) + msg.text


def test_data_quality_alert_shows_the_run_in_local_time(example_config):
    con = duckdb.connect()
    from quality.results import ensure_tables

    ensure_tables(con)
    con.execute(
        "insert into tertulia.dq_results values ('r1', timestamp '2026-11-20 14:30', timestamp '2026-11-20 14:31', "
        "'raw.comments', 'ids are unique', 'comment_id', false, '2 duplicates', '{}')"
    )
    (a,) = dq_alerts(con, example_config, NOW)
    assert a.reason.startswith(
        "Great Expectations gate failed in the quality run of 2026-11-20 09:30 (America/Guayaquil). "
    )


def owner_lines(post: dict) -> list[str]:
    texts = [b["text"]["text"] for b in post["blocks"] if "text" in b and b["type"] == "section"]
    texts += [f["text"] for b in post["blocks"] for f in b.get("fields") or []]
    texts += [e["text"] for b in post["blocks"] if b["type"] == "context" for e in b["elements"]]
    return [line for t in texts for line in t.splitlines() if "owner" in line.lower()]


@pytest.mark.parametrize(
    ("slack_user_id", "line"), [(None, "Owner: Ana Paredes"), ("U0ANA", "Owner: <@U0ANA>")]
)
def test_one_owner_line_by_name_not_member_id(cfg, con, slack, slack_user_id, line):
    sla_mart(con)
    team_table(con, ("tm-ana", "Ana Paredes", slack_user_id))
    enqueue(con, sla_alerts(con, cfg, NOW), now=NOW)
    deliver_pending(con, cfg, now=NOW, sleep=Sleeps())
    (post,) = slack.posts()
    assert owner_lines(post) == [line]
    assert "tm-ana" not in json.dumps(post["blocks"]) + post["text"]


def test_console_shows_one_owner_line_by_name(example_config):
    con = open_db(example_config)
    sla_mart(con)
    team_table(con, ("tm-ana", "Ana Paredes", "U0ANA"))
    enqueue(con, sla_alerts(con, example_config, NOW), now=NOW)
    printed: list[str] = []
    deliver_pending(con, example_config, now=NOW, sleep=Sleeps(), out=printed.append)
    (text,) = printed
    assert [line for line in text.splitlines() if "owner" in line.lower()] == ["    Owner: Ana Paredes"]
    assert "tm-ana" not in text and "UTC" not in text
    con.close()
