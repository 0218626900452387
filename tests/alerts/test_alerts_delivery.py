"""Outbox + delivery against the local Slack server: once, through outages and crashes, paced, routed."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import sys
import types

import pytest
from alerts_harness import DAYTIME, NIGHT, Sleeps, alert, open_db, states, with_slack
from fakes.slack_server import VALID_TOKEN, FakeSlack

import alerts.delivery as delivery
from alerts.delivery import deliver_pending
from alerts.outbox import enqueue
from tertulia.config import QuietHours


def run(con, cfg, now=DAYTIME, **kw):
    kw.setdefault("sleep", Sleeps())
    return deliver_pending(con, cfg, now=now, **kw)


def test_exactly_once_across_repeated_runs(cfg, con, slack):
    batch = [alert("sla:1"), alert("crisis:1", kind="crisis", severity="critical")]
    assert enqueue(con, batch, now=DAYTIME) == 2
    first = run(con, cfg)
    for _ in range(2):
        assert enqueue(con, batch, now=DAYTIME) == 0
        again = run(con, cfg)
        assert again.sent == 0
    assert first.sent == 2
    posts = slack.posts()
    assert len(posts) == 2
    # Routing: sla -> #community-care, crisis:critical -> override #comms-leads.
    assert {slack.channel_id("#community-care"), slack.channel_id("#comms-leads")} == {
        p["channel"] for p in posts
    }
    rows = con.execute(
        "select dedupe_key, message_ts, channel from tertulia.alert_outbox order by id"
    ).fetchall()
    assert {(r[1], r[2]) for r in rows} == {
        (next(p["ts"] for p in posts if p["channel"] == slack.channel_id(r[2])), r[2]) for r in rows
    }


def test_outage_5xx_then_recovery_delivers_each_once(cfg, con, slack):
    enqueue(con, [alert("a"), alert("b")], now=DAYTIME)
    slack.fail("chat.postMessage", status=500)
    down = run(con, cfg)
    assert down.sent == 0 and slack.posts() == []
    # A 5xx might hide a posted message: the row waits in `sending`, the run stops hammering Slack.
    assert states(con) == {"a": "sending", "b": "pending"}
    assert any("500" in p for p in down.problems)
    up = run(con, cfg)
    assert up.sent == 2 and up.recovered == 0
    assert [p["text"].split(": ", 1)[1] for p in slack.posts()] == ["Alert a", "Alert b"]
    assert len(slack.method_calls("conversations.history")) == 1  # the look-up before resending a
    assert run(con, cfg).sent == 0 and len(slack.posts()) == 2


def test_connection_refused_keeps_rows_pending_then_delivers_once(example_config, slack, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", VALID_TOKEN)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    dead = with_slack(example_config, base_url=f"http://127.0.0.1:{dead_port}/api/")
    con = open_db(dead)
    enqueue(con, [alert("a")], now=DAYTIME)
    sleeps = Sleeps()
    report = deliver_pending(con, dead, now=DAYTIME, sleep=sleeps)
    assert states(con) == {"a": "pending"}
    assert report.pending == 1 and any("cannot connect" in p for p in report.problems)
    assert sleeps.calls == [0.5, 1.0, 2.0]  # backoff of the connection retries, recorded not slept
    live = with_slack(example_config, base_url=slack.base_url)
    assert deliver_pending(con, live, now=DAYTIME, sleep=Sleeps()).sent == 1
    assert deliver_pending(con, live, now=DAYTIME, sleep=Sleeps()).sent == 0
    assert len(slack.posts()) == 1
    con.close()


def test_timeout_after_slack_posted_is_found_not_resent(cfg, con, slack):
    enqueue(con, [alert("a")], now=DAYTIME)
    # Slack posts the message but the answer arrives after the client's 0.5 s timeout.
    slack.fail("chat.postMessage", status=500, delay=1.5, after=True)
    first = run(con, cfg)
    assert first.sent == 0 and states(con) == {"a": "sending"}
    assert len(slack.posts()) == 1
    second = run(con, cfg)
    assert second.recovered == 1 and second.sent == 0
    assert len(slack.posts()) == 1 and len(slack.method_calls("chat.postMessage")) == 1
    ts = con.execute("select message_ts from tertulia.alert_outbox").fetchone()[0]
    assert ts == slack.posts()[0]["ts"]


def test_crash_after_send_before_record_does_not_duplicate(cfg, con, slack, monkeypatch):
    enqueue(con, [alert("a", thread_key="t"), alert("b")], now=DAYTIME)

    def crash(*args, **kwargs):
        raise RuntimeError("killed between the Slack call and the outbox record")

    monkeypatch.setattr(delivery, "record_sent", crash)
    with pytest.raises(RuntimeError):
        run(con, cfg)
    monkeypatch.undo()
    assert states(con) == {"a": "sending", "b": "pending"}
    assert len(slack.posts()) == 1
    monkeypatch.setenv("SLACK_BOT_TOKEN", VALID_TOKEN)
    rerun = run(con, cfg)
    assert rerun.recovered == 1 and rerun.sent == 1
    posts = slack.posts()
    assert [p["text"].split(": ", 1)[1] for p in posts] == ["Alert a", "Alert b"]
    row = con.execute("select message_ts, state from tertulia.alert_outbox where dedupe_key = 'a'").fetchone()
    assert row == (posts[0]["ts"], "sent")
    # The recovered root still anchors its thread.
    assert (
        con.execute("select root_ts from tertulia.alert_threads where thread_key = 't'").fetchone()[0]
        == posts[0]["ts"]
    )


def test_crash_recovery_without_history_scope_resends_once_marked_as_possible_repeat(
    cfg, con, slack, monkeypatch
):
    enqueue(con, [alert("a")], now=DAYTIME)
    slack.fail("chat.postMessage", status=500, after=True)  # posted, answer lost
    run(con, cfg)
    slack.state.scopes_missing.add("conversations.history")
    report = run(con, cfg)
    # Residual risk, documented: without channels:history we cannot look, so we resend (at least once).
    assert report.sent == 1 and len(slack.posts()) == 2
    assert "may repeat" in json.dumps(slack.posts()[1]["blocks"])
    assert any("possible repeat" in p for p in report.problems)


def test_rate_limit_retry_after_is_respected(cfg, con, slack):
    enqueue(con, [alert("a")], now=DAYTIME)
    slack.fail("chat.postMessage", status=429, retry_after="3")
    sleeps = Sleeps()
    report = run(con, cfg, sleep=sleeps)
    assert report.sent == 1 and len(slack.posts()) == 1
    assert len(slack.method_calls("chat.postMessage")) == 2
    assert sleeps.calls == [3.0]


def test_retry_after_zero_waits_the_floor_not_a_busy_loop(cfg, con, slack):
    enqueue(con, [alert("a")], now=DAYTIME)
    slack.fail("chat.postMessage", status=429, retry_after="0", times=2)
    sleeps = Sleeps()
    assert run(con, cfg, sleep=sleeps).sent == 1
    assert sleeps.calls == [1.0, 1.0]


def test_rate_limit_that_outlasts_the_retries_leaves_rows_pending(cfg, con, slack):
    enqueue(con, [alert("a")], now=DAYTIME)
    slack.fail("chat.postMessage", status=429, retry_after="1", times=10)
    report = run(con, cfg)
    assert states(con) == {"a": "pending"} and report.sent == 0
    assert len(slack.method_calls("chat.postMessage")) == 4  # first try + 3 retries


def test_pacing_one_message_per_second_per_channel(example_config, slack, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", VALID_TOKEN)
    cfg = with_slack(example_config, base_url=slack.base_url, seconds_per_message_per_channel=1.0)
    con = open_db(cfg)
    enqueue(con, [alert("a"), alert("b"), alert("c"), alert("d", kind="data_quality")], now=DAYTIME)
    sleeps = Sleeps()
    # A clock that stands still: every message after the first in a channel must wait the full second.
    deliver_pending(con, cfg, now=DAYTIME, sleep=sleeps, clock=lambda: 100.0)
    assert sleeps.calls == [1.0, 1.0]  # b and c in #community-care; d is alone in #data
    assert len(slack.posts()) == 4
    con.close()


def test_not_in_channel_gives_one_clear_message_and_keeps_alerts(cfg, con, slack):
    slack.state.not_member.add("#community-care")
    enqueue(con, [alert("a"), alert("b"), alert("q", kind="data_quality")], now=DAYTIME)
    report = run(con, cfg)
    assert states(con) == {"a": "failed", "b": "pending", "q": "sent"}
    care = [p for p in report.problems if "#community-care" in p]
    assert len(care) == 1 and "/invite" in care[0]
    assert len(slack.method_calls("chat.postMessage")) == 2  # b was not tried against the same wall
    slack.state.not_member.clear()
    assert run(con, cfg).sent == 2
    assert states(con) == {"a": "sent", "b": "sent", "q": "sent"}


def test_channel_not_found_says_to_fix_the_config(cfg, con, slack):
    slack.state.missing_channels.add("#data")
    enqueue(con, [alert("q", kind="data_quality")], now=DAYTIME)
    report = run(con, cfg)
    assert states(con) == {"q": "failed"}
    (msg,) = report.problems
    assert "slack.channels" in msg and "#data" in msg
    last_error = con.execute("select last_error from tertulia.alert_outbox").fetchone()[0]
    assert last_error == msg


def test_invalid_token_stops_without_sending_and_never_shows_the_token(
    example_config, slack, monkeypatch, caplog
):
    secret = "xoxb-wrong-secret-123"
    monkeypatch.setenv("SLACK_BOT_TOKEN", secret)
    cfg = with_slack(example_config, base_url=slack.base_url)
    con = open_db(cfg)
    enqueue(con, [alert("a")], now=DAYTIME)
    with caplog.at_level(logging.DEBUG):
        report = deliver_pending(con, cfg, now=DAYTIME, sleep=Sleeps())
    assert slack.method_calls("chat.postMessage") == []
    assert states(con) == {"a": "pending"}
    assert any("SLACK_BOT_TOKEN" in p and "invalid_auth" in p for p in report.problems)
    dump = json.dumps(con.execute("select * from tertulia.alert_outbox").fetchall(), default=str)
    assert secret not in dump and secret not in report.render() and secret not in caplog.text
    assert all(secret.encode() not in c.raw_body for c in slack.calls)
    con.close()


def test_webhook_mode_sends_once_without_threads(example_config, slack, monkeypatch):
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.webhook_url)
    cfg = with_slack(example_config)
    con = open_db(cfg)
    enqueue(con, [alert("a", thread_key="t"), alert("b", thread_key="t", resolves=True)], now=DAYTIME)
    report = deliver_pending(con, cfg, now=DAYTIME, sleep=Sleeps())
    assert report.mode == "webhook" and report.sent == 2
    assert deliver_pending(con, cfg, now=DAYTIME, sleep=Sleeps()).sent == 0
    posts = slack.state.webhook_posts
    assert len(posts) == 2 and all("thread_ts" not in p for p in posts)
    assert posts[0]["blocks"][0]["type"] == "header" and posts[0]["text"]
    assert slack.method_calls("chat.update") == [] and slack.posts() == []


def test_webhook_rate_limit_and_outage(example_config, slack, monkeypatch):
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.webhook_url)
    cfg = with_slack(example_config)
    con = open_db(cfg)
    enqueue(con, [alert("a")], now=DAYTIME)
    slack.fail("webhook", status=429, retry_after="0")
    slack.fail("webhook", status=500)
    sleeps = Sleeps()
    first = deliver_pending(con, cfg, now=DAYTIME, sleep=sleeps)
    assert sleeps.calls == [1.0] and first.sent == 0 and states(con) == {"a": "sending"}
    second = deliver_pending(con, cfg, now=DAYTIME, sleep=Sleeps())
    assert second.sent == 1 and len(slack.state.webhook_posts) == 1


def test_console_mode_prints_readably_once(example_config):
    cfg = with_slack(example_config)
    con = open_db(cfg)
    enqueue(
        con,
        [alert("a", facts=(("Waiting", "45 min"),), member_text=("¿Dónde está mi pedido?",))],
        now=DAYTIME,
    )
    printed: list[str] = []
    report = deliver_pending(con, cfg, now=DAYTIME, out=printed.append)
    assert report.mode == "console" and report.printed == 1
    assert printed == [
        "[WARNING] SLA · Alert a   → #community-care\n    Waiting: 45 min\n    > ¿Dónde está mi pedido?"
    ]
    assert deliver_pending(con, cfg, now=DAYTIME, out=printed.append).printed == 0
    assert con.execute("select delivered_via from tertulia.alert_outbox").fetchone()[0] == "console"
    con.close()


def test_dry_run_prints_with_a_token_and_changes_nothing(cfg, con, slack):
    enqueue(con, [alert(f"b{i}", digest_group="sla_breach") for i in range(7)], now=DAYTIME)
    printed: list[str] = []
    report = run(con, cfg, dry_run=True, out=printed.append)
    assert report.mode == "dry-run" and report.printed == 1  # the flood digest, as it would be sent
    assert "7 sla breach alerts at once" in printed[0]
    assert slack.calls == []
    assert set(states(con).values()) == {"pending"} and len(states(con)) == 7


def quiet_nights(example_config, slack, monkeypatch):
    """The config with Slack at the fake and quiet hours 21:00-08:00 holding what is below a warning."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", VALID_TOKEN)
    quiet = QuietHours(start="21:00", end="08:00", hold_below="warning")
    return with_slack(example_config, base_url=slack.base_url, quiet_hours=quiet)


def test_quiet_hours_hold_low_severity_until_morning(example_config, slack, monkeypatch):
    cfg = quiet_nights(example_config, slack, monkeypatch)
    con = open_db(cfg)
    enqueue(con, [alert("low", severity="info"), alert("mid", severity="warning")], now=NIGHT)
    night = deliver_pending(con, cfg, now=NIGHT, sleep=Sleeps())
    assert night.sent == 1 and night.held == 1
    hold = con.execute("select hold_reason from tertulia.alert_outbox where dedupe_key = 'low'").fetchone()[0]
    assert hold == "quiet hours: info alerts wait until 08:00 America/Guayaquil"
    morning = dt.datetime(2026, 11, 21, 13, 30)  # 08:30 local
    assert deliver_pending(con, cfg, now=morning, sleep=Sleeps()).sent == 1
    assert [p["text"].split(": ", 1)[1] for p in slack.posts()] == ["Alert mid", "Alert low"]
    con.close()


def test_quiet_hours_report_says_why_alerts_wait(example_config, slack, monkeypatch):
    cfg = quiet_nights(example_config, slack, monkeypatch)
    con = open_db(cfg)
    enqueue(con, [alert("low", severity="info"), alert("also-low", severity="info")], now=NIGHT)
    report = deliver_pending(con, cfg, now=NIGHT, sleep=Sleeps())
    assert report.render().endswith(
        "2 waiting (2 held: quiet hours: info alerts wait until 08:00 America/Guayaquil)"
    )
    con.close()


def test_an_at_risk_warning_not_delivered_before_its_deadline_is_overtaken(cfg, con, slack):
    # Two at-risk warnings made at 15:00 UTC: one due 15:20, one due 17:00 (UTC). No delivery runs until
    # 16:00 (Slack down, or a demo's dry-run outbox carried into a real warehouse by `tertulia migrate`),
    # when the first deadline has passed: its warning would say "20 min left" forty minutes too late.
    due_soon, due_later = dt.datetime(2026, 11, 20, 15, 20), dt.datetime(2026, 11, 20, 17, 0)
    enqueue(
        con,
        [alert("soon", stale_at=due_soon), alert("later", stale_at=due_later)],
        now=DAYTIME,
    )
    back = run(con, cfg, now=dt.datetime(2026, 11, 20, 16, 0))
    assert back.sent == 1 and back.suppressed == 1
    assert states(con) == {"soon": "suppressed", "later": "sent"}
    (reason,) = con.execute(
        "select suppressed_reason from tertulia.alert_outbox where dedupe_key = 'soon'"
    ).fetchone()
    # 15:20 UTC is 10:20 in Guayaquil (UTC-5)
    assert reason == "overtaken: not delivered before 2026-11-20 10:20 (America/Guayaquil)"
    assert [p["text"].split(": ", 1)[1] for p in slack.posts()] == ["Alert later"]


def test_cooldown_suppresses_repeats_but_not_escalations(cfg, con, slack):
    t0 = DAYTIME
    enqueue(con, [alert("c1", kind="crisis", thread_key="inc")], now=t0)
    run(con, cfg, now=t0)
    t30 = t0 + dt.timedelta(minutes=30)
    enqueue(con, [alert("c2", kind="crisis", thread_key="inc")], now=t30)
    assert run(con, cfg, now=t30).suppressed == 1
    reason = con.execute(
        "select suppressed_reason from tertulia.alert_outbox where dedupe_key = 'c2'"
    ).fetchone()[0]
    # 15:00 UTC is 10:00 in Guayaquil (UTC-5): the reason shows the community's clock.
    assert reason == (
        "cooldown: the same crisis signal was sent at 2026-11-20 10:00 (America/Guayaquil) with a 60 min cooldown"
    )
    enqueue(con, [alert("c3", kind="crisis", severity="critical", thread_key="inc")], now=t30)
    assert run(con, cfg, now=t30).sent == 1  # escalation
    t95 = t0 + dt.timedelta(minutes=95)  # 65 min after the critical one
    enqueue(con, [alert("c4", kind="crisis", severity="critical", thread_key="inc")], now=t95)
    assert run(con, cfg, now=t95).sent == 1
    assert states(con) == {"c1": "sent", "c2": "suppressed", "c3": "sent", "c4": "sent"}


def test_flood_control_sends_one_digest_for_too_many_breaches(cfg, con, slack):
    many = [alert(f"br{i}", digest_group="sla_breach", title=f"Breach {i}") for i in range(7)]
    enqueue(con, many, now=DAYTIME)
    report = run(con, cfg)
    assert report.sent == 1 and report.suppressed == 7
    (post,) = slack.posts()
    listing = json.dumps(post["blocks"], ensure_ascii=False)
    assert all(f"• Breach {i}" in listing for i in range(7))
    reasons = {
        r[0]
        for r in con.execute(
            "select suppressed_reason from tertulia.alert_outbox where dedupe_key like 'br%'"
        ).fetchall()
    }
    assert len(reasons) == 1 and next(iter(reasons)).startswith("in digest flood:sla_breach:")
    # Exactly the limit (5) go out one by one.
    enqueue(con, [alert(f"ok{i}", digest_group="sla_breach") for i in range(5)], now=DAYTIME)
    assert run(con, cfg).sent == 5


def test_thread_at_risk_breach_resolved_exactly_once_over_runs(cfg, con, slack):
    steps = [
        alert("sla:c1:at_risk", severity="warning", thread_key="sla:c1", title="At risk"),
        alert("sla:c1:breach", severity="critical", thread_key="sla:c1", title="Breached"),
        alert("sla:c1:resolved", severity="info", thread_key="sla:c1", title="Answered", resolves=True),
    ]
    for i in range(len(steps)):
        enqueue(con, steps[: i + 1], now=DAYTIME)  # every run re-evaluates the earlier alerts too
        run(con, cfg)
    run(con, cfg)
    posts = slack.posts("#community-care")
    assert len(posts) == 3
    root, breach, resolved = posts
    assert root["thread_ts"] is None
    assert breach["thread_ts"] == root["ts"] and breach["reply_broadcast"] is True
    assert resolved["thread_ts"] == root["ts"] and resolved["reply_broadcast"] is False
    (update,) = slack.method_calls("chat.update")
    assert update.params["ts"] == root["ts"]
    assert root["text"].startswith("✅ Resolved: SLA: At risk") and root["edited"] is True
    assert "Resolved 2026-11-20 10:00 (America/Guayaquil): Answered" in json.dumps(
        root["blocks"], ensure_ascii=False
    )


def test_held_kinds_wait_for_a_run_without_the_hold(cfg, con, slack):
    enqueue(con, [alert("s"), alert("q", kind="data_quality")], now=DAYTIME, held_kinds=frozenset({"sla"}))
    run(con, cfg)
    assert states(con) == {"s": "held", "q": "sent"}
    assert (
        "data-quality gate"
        in con.execute("select hold_reason from tertulia.alert_outbox where dedupe_key = 's'").fetchone()[0]
    )
    enqueue(con, [], now=DAYTIME)
    assert run(con, cfg).sent == 1 and states(con)["s"] == "sent"


def test_alerts_not_deliverable_for_days_are_given_up(cfg, con, slack):
    enqueue(con, [alert("old")], now=DAYTIME - dt.timedelta(hours=73))
    report = run(con, cfg)
    assert states(con) == {"old": "suppressed"} and slack.posts() == []
    assert any("72 h" in p for p in report.problems)


def test_token_from_a_prefect_secret_block(example_config, slack, monkeypatch):
    class Secret:
        @staticmethod
        def load(name):
            assert name == "tertulia-slack-bot"
            return types.SimpleNamespace(get=lambda: VALID_TOKEN)

    monkeypatch.setitem(sys.modules, "prefect.blocks.system", types.SimpleNamespace(Secret=Secret))
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    cfg = with_slack(example_config, base_url=slack.base_url, token_secret_block="tertulia-slack-bot")
    con = open_db(cfg)
    enqueue(con, [alert("a")], now=DAYTIME)
    report = deliver_pending(con, cfg, now=DAYTIME, sleep=Sleeps())
    assert report.mode == "bot" and report.sent == 1 and len(slack.posts()) == 1
    con.close()


def test_unreadable_secret_block_falls_back_to_console_with_a_clear_message(example_config, monkeypatch):
    class Secret:
        @staticmethod
        def load(name):
            raise ValueError(f"Unable to find block document named {name}")

    monkeypatch.setitem(sys.modules, "prefect.blocks.system", types.SimpleNamespace(Secret=Secret))
    cfg = with_slack(example_config, token_secret_block="missing-block")
    con = open_db(cfg)
    enqueue(con, [alert("a")], now=DAYTIME)
    report = deliver_pending(con, cfg, now=DAYTIME, out=lambda text: None)
    assert report.mode == "console" and report.printed == 1
    assert report.problems == [
        "could not read the Slack token from Prefect Secret block 'missing-block' (ValueError); create it with "
        "`prefect block create secret` or set SLACK_BOT_TOKEN"
    ]
    con.close()


def test_kind_without_a_channel_fails_with_the_key_to_add(example_config, slack, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", VALID_TOKEN)
    cfg = with_slack(example_config, base_url=slack.base_url, channels={"sla": "#community-care"})
    con = open_db(cfg)
    enqueue(con, [alert("q", kind="data_quality")], now=DAYTIME)
    report = deliver_pending(con, cfg, now=DAYTIME, sleep=Sleeps())
    assert states(con) == {"q": "failed"}
    assert report.problems == [
        "no Slack channel for alerts of kind 'data_quality': add slack.channels.data_quality "
        "to community.yml (the alert waits in the outbox)"
    ]
    con.close()


def test_flood_digest_lists_at_most_twenty_with_local_times(cfg, con, slack):
    many = [
        alert(
            f"br{i:02d}",
            digest_group="sla_breach",
            title=f"Breach {i}",
            occurred_at=dt.datetime(2026, 11, 20, 14, i),
        )
        for i in range(25)
    ]
    enqueue(con, many, now=DAYTIME)
    run(con, cfg)
    (post,) = slack.posts()
    listing = next(
        b["text"]["text"] for b in post["blocks"] if b.get("text", {}).get("text", "").startswith("•")
    )
    lines = listing.split("\n")
    assert len(lines) == 21
    # 14:00 UTC is 09:00 in Guayaquil, shown with its zone like every time in an alert.
    assert lines[0] == "• 2026-11-20 09:00 (America/Guayaquil) · Breach 0"
    assert lines[19] == "• 2026-11-20 09:19 (America/Guayaquil) · Breach 19"
    assert lines[20] == "• …and 5 more (all in tertulia.alert_outbox)"


def test_cooldown_without_a_thread_matches_the_same_title(cfg, con, slack):
    enqueue(con, [alert("q1", kind="data_quality", title="raw.comments failed its checks")], now=DAYTIME)
    run(con, cfg)
    later = DAYTIME + dt.timedelta(minutes=119)
    enqueue(
        con,
        [
            alert("q2", kind="data_quality", title="raw.comments failed its checks"),
            alert("q3", kind="data_quality", title="raw.posts failed its checks"),
        ],
        now=later,
    )
    run(con, cfg, now=later)
    assert states(con) == {"q1": "sent", "q2": "suppressed", "q3": "sent"}


def test_ok_false_error_from_slack_is_explained(cfg, con, slack):
    enqueue(con, [alert("a")], now=DAYTIME)
    slack.fail("chat.postMessage", error="is_archived")
    report = run(con, cfg)
    assert states(con) == {"a": "failed"}
    assert report.problems == [
        "#community-care is archived: unarchive it or route this kind to another channel in slack.channels"
    ]


def test_long_retry_after_is_not_waited_out_inside_a_run(cfg, con, slack):
    enqueue(con, [alert("a")], now=DAYTIME)
    slack.fail("chat.postMessage", status=429, retry_after="120")
    sleeps = Sleeps()
    report = run(con, cfg, sleep=sleeps)
    assert sleeps.calls == [] and states(con) == {"a": "pending"} and report.sent == 0
    assert run(con, cfg).sent == 1


def test_crash_while_replying_in_a_thread_is_found_with_conversations_replies(cfg, con, slack, monkeypatch):
    enqueue(con, [alert("root", thread_key="t")], now=DAYTIME)
    run(con, cfg)
    enqueue(con, [alert("reply", thread_key="t", severity="critical")], now=DAYTIME)
    monkeypatch.setattr(
        delivery, "record_sent", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("killed"))
    )
    with pytest.raises(RuntimeError):
        run(con, cfg)
    monkeypatch.undo()
    monkeypatch.setenv("SLACK_BOT_TOKEN", VALID_TOKEN)
    assert run(con, cfg).recovered == 1
    root, reply = slack.posts()
    assert reply["thread_ts"] == root["ts"] and len(slack.posts()) == 2
    assert len(slack.method_calls("conversations.replies")) == 1
    assert con.execute(
        "select message_ts, thread_ts from tertulia.alert_outbox where dedupe_key = 'reply'"
    ).fetchone() == (reply["ts"], root["ts"])


def test_escalation_routed_to_another_channel_starts_there_and_resolve_updates_both(
    example_config, monkeypatch
):
    server = FakeSlack(channels=("#community-care", "#care-leads")).start()
    try:
        monkeypatch.setenv("SLACK_BOT_TOKEN", VALID_TOKEN)
        cfg = with_slack(
            example_config, base_url=server.base_url, channel_overrides={"sla:critical": "#care-leads"}
        )
        con = open_db(cfg)
        enqueue(
            con,
            [alert("risk", thread_key="i"), alert("breach", thread_key="i", severity="critical")],
            now=DAYTIME,
        )
        deliver_pending(con, cfg, now=DAYTIME, sleep=Sleeps())
        enqueue(con, [alert("done", thread_key="i", severity="info", resolves=True)], now=DAYTIME)
        deliver_pending(con, cfg, now=DAYTIME, sleep=Sleeps())
        (risk, done) = server.posts("#community-care")
        (breach,) = server.posts("#care-leads")
        assert breach["thread_ts"] is None and done["thread_ts"] == risk["ts"]
        assert {c.params["ts"] for c in server.method_calls("chat.update")} == {risk["ts"], breach["ts"]}
        con.close()
    finally:
        server.stop()


def test_a_thread_opened_by_an_override_keeps_its_note_in_that_channel(example_config, monkeypatch):
    # A crisis that opens critical goes to #comms-leads (override); its info "is over" note would route to
    # #comms, where no thread of it exists: it follows the thread instead (found by the soak test).
    server = FakeSlack(channels=("#comms", "#comms-leads")).start()
    try:
        monkeypatch.setenv("SLACK_BOT_TOKEN", VALID_TOKEN)
        cfg = with_slack(example_config, base_url=server.base_url)
        con = open_db(cfg)
        opened = alert("crisis-open", kind="crisis", severity="critical", thread_key="crisis:ig:1")
        enqueue(con, [opened], now=DAYTIME)
        deliver_pending(con, cfg, now=DAYTIME, sleep=Sleeps())
        over = alert("crisis-over", kind="crisis", severity="info", thread_key="crisis:ig:1", resolves=True)
        enqueue(con, [over], now=DAYTIME)
        deliver_pending(con, cfg, now=DAYTIME, sleep=Sleeps())
        assert server.posts("#comms") == []
        root, note = server.posts("#comms-leads")
        assert root["thread_ts"] is None and note["thread_ts"] == root["ts"]
        con.close()
    finally:
        server.stop()


def test_thread_channel_follows_the_thread_unless_it_escalates():
    from alerts.routing import thread_channel

    assert thread_channel("#comms", "info", []) == "#comms"  # no thread yet: the routed channel
    assert thread_channel("#comms", "info", [("#comms-leads", "critical")]) == "#comms-leads"
    assert thread_channel("#comms", "warning", [("#comms", "warning"), ("#leads", "critical")]) == "#comms"
    # a warning thread in #comms that turns critical reaches the leads' channel
    assert thread_channel("#leads", "critical", [("#comms", "warning")]) == "#leads"


def test_a_thread_back_after_its_resolved_note_says_so_on_its_root_and_resolves_again(cfg, con, slack):
    # a crisis ends (14:00 local), comes back within its cooldown (15:00) and ends again (18:00): the root,
    # updated to "Resolved" at the first end, says it re-opened, then resolved again
    thread = "crisis:ig:1"
    steps = [
        (DAYTIME, alert("open", kind="crisis", thread_key=thread, title="Possible crisis")),
        (
            DAYTIME + dt.timedelta(hours=4),
            alert("over", kind="crisis", severity="info", thread_key=thread, title="Over", resolves=True),
        ),
        (
            DAYTIME + dt.timedelta(hours=5),
            alert("back", kind="crisis", thread_key=thread, title="Back: volume spike", reopens=True),
        ),
        (
            DAYTIME + dt.timedelta(hours=8),
            alert(
                "over:1", kind="crisis", severity="info", thread_key=thread, title="Over again", resolves=True
            ),
        ),
    ]

    def root_now():
        return slack.posts("#comms")[0]

    seen = []
    for k, (now, _) in enumerate(steps):
        enqueue(con, [s for _, s in steps[: k + 1]], now=now)
        run(con, cfg, now=now)
        root = root_now()
        seen.append((root["text"].splitlines()[0], json.dumps(root["blocks"], ensure_ascii=False)))
    assert seen[0][0] == "🟠 Crisis: Possible crisis"
    assert seen[1][0] == "✅ Resolved: Crisis: Possible crisis"
    assert "Resolved 2026-11-20 14:00 (America/Guayaquil): Over" in seen[1][1]
    assert seen[2][0] == "🟠 Re-opened: Crisis: Possible crisis"
    assert "Re-opened 2026-11-20 15:00 (America/Guayaquil): Back: volume spike" in seen[2][1]
    assert "Resolved 2026-11-20 14:00" not in seen[2][1]
    assert seen[3][0] == "✅ Resolved: Crisis: Possible crisis"
    assert "Resolved 2026-11-20 18:00 (America/Guayaquil): Over again" in seen[3][1]
    posts = slack.posts("#comms")
    assert [p["thread_ts"] for p in posts[1:]] == [posts[0]["ts"]] * 3
    assert len(slack.method_calls("chat.update")) == 3


def test_a_thread_back_and_over_again_before_a_run_goes_straight_to_resolved(cfg, con, slack):
    thread = "crisis:ig:2"
    enqueue(con, [alert("open", kind="crisis", thread_key=thread, title="Possible crisis")], now=DAYTIME)
    run(con, cfg)
    over = alert("over", kind="crisis", severity="info", thread_key=thread, title="Over", resolves=True)
    enqueue(con, [over], now=DAYTIME)
    run(con, cfg)
    # the watch was down while the crisis came back and ended again: both reach Slack in one run
    later = DAYTIME + dt.timedelta(hours=8)
    back = alert("back", kind="crisis", thread_key=thread, title="Back", reopens=True)
    again = alert(
        "over:1", kind="crisis", severity="info", thread_key=thread, title="Over again", resolves=True
    )
    enqueue(con, [back, again], now=later)
    run(con, cfg, now=later)
    root = slack.posts("#comms")[0]
    assert root["text"].startswith("✅ Resolved: Crisis: Possible crisis")
    assert "Resolved 2026-11-20 18:00 (America/Guayaquil): Over again" in json.dumps(
        root["blocks"], ensure_ascii=False
    )
    assert len(slack.method_calls("chat.update")) == 2  # resolved, then resolved again: no re-opened step
