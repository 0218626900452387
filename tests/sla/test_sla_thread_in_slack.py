"""From mart rows to Slack: one unanswered comment goes at risk, breaches, is answered; across runs the
Slack thread holds exactly one message per state, and the root is marked resolved."""

from __future__ import annotations

import datetime as dt

import pytest
from fakes.slack_server import VALID_TOKEN, FakeSlack

from connectors.landing import land_records
from tertulia import pipeline, warehouse

pytestmark = pytest.mark.integration

UTC_OFFSET = dt.timedelta(hours=5)  # America/Guayaquil is UTC-5 all year


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A wall-clock time in Quito on 2026-11-<day>, as the naive UTC instant the pipeline uses."""
    return dt.datetime(2026, 11, day, hour, minute) + UTC_OFFSET


def comment(cid: str, author: str, at: dt.datetime, text: str, parent: str | None = None) -> dict:
    return {
        "platform": "instagram",
        "comment_id": cid,
        "post_id": "p1",
        "parent_id": parent,
        "thread_id": parent or cid,
        "author_id": author,
        "author_name": author,
        "created_at": at.isoformat() + "Z",
        "message": text,
        "channel": "reply" if parent else "comment",
    }


@pytest.fixture
def slack():
    server = FakeSlack().start()
    yield server
    server.stop()


def _land(config, entity, records):
    con = warehouse.connect(config.warehouse_path)
    try:
        land_records(con, entity, records, source="test", batch_id=f"b-{entity}-{len(records)}")
    finally:
        con.close()


def _cycle(config, now):
    pipeline.prepare_warehouse(config)
    pipeline.build(config, select="+fct_sla_events", as_of=now, run_tests=False)
    return pipeline.evaluate_and_send_alerts(config, now=now)


def test_at_risk_breach_and_resolved_go_to_one_thread_exactly_once(example_config, slack, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", VALID_TOKEN)
    config = example_config.model_copy(
        update={
            "slack": example_config.slack.model_copy(
                update={
                    "base_url": slack.base_url,
                    "quiet_hours": None,
                    "seconds_per_message_per_channel": 0.0,
                }
            )
        }
    )
    pipeline.prepare_warehouse(config)
    _land(
        config,
        "posts",
        [{"platform": "instagram", "post_id": "p1", "account_id": "ig-cafetertulia",
          "published_at": local(16, 8).isoformat() + "Z", "message": "Nuevo café", "content_type": "photo",
          "permalink": "https://www.instagram.com/p/p1/"}],
    )  # fmt: skip
    # Monday 16 Nov, 10:00 in Quito. No enrichment: priority normal, so the `same_day` policy applies:
    # 480 business minutes under Mon-Fri 09:00-18:00 put the deadline at 18:00, at risk from 16:00 (75 %).
    _land(config, "comments", [comment("c1", "member-7", local(16, 10), "¿A qué hora abren el sábado?")])

    care = []  # messages in the care channel after each run

    def cycle(now):
        _cycle(config, now)
        care.append(len(slack.posts("#community-care")))

    cycle(local(16, 16, 30))
    cycle(local(16, 18, 30))
    _land(
        config,
        "comments",
        [
            comment("c1", "member-7", local(16, 10), "¿A qué hora abren el sábado?"),
            comment("r1", "ig-cafetertulia", local(16, 18, 45), "¡De 10 a 14!", parent="c1"),
        ],
    )
    cycle(local(16, 19))
    cycle(local(16, 19, 5))

    assert care == [1, 2, 3, 3]
    posts = slack.posts("#community-care")
    root, breach, resolved = posts
    assert root["thread_ts"] is None and "at risk" in root["text"].lower()
    assert breach["thread_ts"] == root["ts"] and "breach" in breach["text"].lower()
    assert resolved["thread_ts"] == root["ts"]
    (update,) = slack.method_calls("chat.update")
    assert update.params["ts"] == root["ts"]
    assert root["text"].startswith("✅ Resolved")
    # The member's words reach Slack as a quote, and the owner of the Instagram account is mentioned.
    assert "¿A qué hora abren el sábado?" in str(root["blocks"])

    con = warehouse.connect(config.warehouse_path)
    try:
        row = con.execute(
            "select status, business_minutes_to_respond, calendar_minutes_to_respond "
            "from marts.fct_sla_events where sla_event_id = 'instagram:c1'"
        ).fetchone()
    finally:
        con.close()
    # Answered 18:45: 480 business minutes (the whole open span to 18:00), 525 calendar minutes.
    assert row == ("breached", 480, 525)
