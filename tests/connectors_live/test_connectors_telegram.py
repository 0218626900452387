"""Telegram against a local fake of the Bot API: conversations, the team's answers, a channel's post and
its comments, forum topics, edits, the offset that confirms updates, rate limits, a webhook, a bad token."""

from __future__ import annotations

import datetime as dt

import pytest
from fakes.telegram_api import FakeTelegram
from live_harness import (
    NOW,
    T0,
    Sleeps,
    config_for,
    ingest_and_build_sla,
    own_warehouse,  # noqa: F401 - autouse fixture
    query,
)

from connectors.runner import run_sources

MIN = dt.timedelta(minutes=1)
CHAT = "-1001234567890"


@pytest.fixture
def telegram(monkeypatch):
    with FakeTelegram() as api:
        for k, v in api.env().items():
            monkeypatch.setenv(k, v)
        yield api


def _comments(config):
    return query(
        config,
        "select comment_id, post_id, parent_id, thread_id, author_id, author_name, channel, message "
        "from raw.comments where platform = 'telegram' order by created_at",
    )


def test_group_conversations_channel_posts_and_edits_land_once(telegram, tmp_path):
    api = telegram
    a = api.message(T0, 501, "¿Tienen pan sin gluten?")
    b = api.message(T0 + 30 * MIN, 7001, "¡Sí, desde las 8!", reply_to=a, first_name="Ana")
    api.message(T0 + 60 * MIN, 502, "Gracias", reply_to=b, first_name="Jorge")
    api.message(T0 + 70 * MIN, 503, "otro grupo", chat=-100999)  # a chat not configured: ignored
    e = api.message(T0 + 120 * MIN, 777, "Nuevo menú de diciembre", is_automatic_forward=True)
    api.message(T0 + 180 * MIN, 501, "Se ve rico", reply_to=e)
    api.edit(a, T0 + 240 * MIN, "¿Tienen pan sin gluten? Para hoy")
    config = config_for(tmp_path, {"tg": api}, page_size=2)

    report = run_sources(config, now=NOW, sleep=Sleeps())["tg"]
    assert report.status == "ok", report.message
    assert _comments(config) == [
        (
            f"{CHAT}:11",
            CHAT,
            None,
            f"{CHAT}:11",
            "501",
            "María",
            "comment",
            "¿Tienen pan sin gluten? Para hoy",
        ),
        (
            f"{CHAT}:12",
            CHAT,
            f"{CHAT}:11",
            f"{CHAT}:11",
            "telegram-brand",
            "Ana",
            "reply",
            "¡Sí, desde las 8!",
        ),
        (f"{CHAT}:13", CHAT, f"{CHAT}:12", f"{CHAT}:11", "502", "Jorge", "reply", "Gracias"),  # reply's reply
        # a comment under the channel's post is its own conversation, placed under that post
        (f"{CHAT}:15", f"{CHAT}:14", None, f"{CHAT}:15", "501", "María", "comment", "Se ve rico"),
    ]
    assert query(
        config, "select post_id, account_id, message from raw.posts where platform = 'telegram'"
    ) == [(f"{CHAT}:14", "telegram-brand", "Nuevo menú de diciembre")]
    # Seven updates, two a page; each call's offset confirmed the pages landed before it.
    offsets = [r.arg("offset") for r in api.requests]
    assert offsets == [None, "503", "505", "507"]
    assert api.confirmed == [501, 502, 503, 504, 505, 506]

    again = run_sources(config, now=NOW, sleep=Sleeps())["tg"]
    assert again.status == "ok"
    assert api.confirmed == [501, 502, 503, 504, 505, 506, 507]  # the last page is confirmed by the next call
    assert query(config, "select count(*) from raw.comments") == [(4,)]


def test_a_reply_in_a_later_run_joins_its_conversation(telegram, tmp_path):
    api = telegram
    a = api.message(T0, 501, "¿Hacen envíos a Cumbayá?")
    config = config_for(tmp_path, {"tg": api})
    run_sources(config, now=NOW, sleep=Sleeps())
    b = api.message(T0 + 30 * MIN, 7001, "Sí, los martes", reply_to=a, first_name="Ana")
    api.message(T0 + 40 * MIN, 501, "¿Y los sábados?", reply_to=b)
    run_sources(config, now=NOW, sleep=Sleeps())
    assert [r[3] for r in _comments(config)] == [f"{CHAT}:11"] * 3


def test_forum_topics_are_conversations(telegram, tmp_path):
    api = telegram
    api._next_message[api.chat_id] = 20  # the topic was opened by message 20 (a service message)
    topic = {"message_thread_id": 20, "is_topic_message": True}
    opening = {"message_id": 20}
    q = api.message(T0, 501, "El pedido 123 no llegó", reply_to=opening, **topic)
    api.message(T0 + 10 * MIN, 7001, "Lo revisamos", reply_to=q, first_name="Ana", **topic)
    config = config_for(tmp_path, {"tg": api})
    run_sources(config, now=NOW, sleep=Sleeps())
    assert [(r[0], r[2], r[3], r[6]) for r in _comments(config)] == [
        (f"{CHAT}:21", None, f"{CHAT}:20", "comment"),
        (f"{CHAT}:22", f"{CHAT}:21", f"{CHAT}:20", "reply"),
    ]


def test_rate_limit_waits_as_telegram_says(telegram, tmp_path):
    api = telegram
    api.message(T0, 501, "Hola")
    api.fail("getUpdates", 429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
                                 "parameters": {"retry_after": 3}})  # fmt: skip
    config = config_for(tmp_path, {"tg": api})
    sleeps = Sleeps()
    assert run_sources(config, now=NOW, sleep=sleeps)["tg"].status == "ok"
    assert sleeps.waits == [3.0]
    assert len(_comments(config)) == 1


def test_a_webhook_or_a_bad_token_stops_with_what_to_do(telegram, tmp_path, monkeypatch):
    api = telegram
    api.message(T0, 501, "Hola")
    api.webhook = True
    config = config_for(tmp_path, {"tg": api})
    report = run_sources(config, now=NOW, sleep=Sleeps())["tg"]
    assert report.status == "failed" and "deleteWebhook" in report.message
    assert api.token not in report.message and api.token.split(":")[1] not in report.message
    api.webhook = False
    monkeypatch.setenv("TEST_TELEGRAM_TOKEN", "123:wrong-token")
    report = run_sources(config, now=NOW, sleep=Sleeps())["tg"]
    assert report.status == "failed" and "@BotFather" in report.message
    assert "wrong-token" not in report.message
    assert query(config, "select count(*) from raw.comments") == [(0,)]
    assert api.updates and api.confirmed == []  # nothing read, nothing confirmed: the next run gets it all


@pytest.mark.integration
def test_telegram_messages_become_sla_events(telegram, tmp_path):

    api = telegram
    a = api.message(T0, 501, "¿Tienen pan sin gluten?")
    api.message(T0 + 30 * MIN, 7001, "¡Sí, desde las 8!", reply_to=a, first_name="Ana")
    api.message(T0 + 45 * MIN, 502, "¿Y envían a Cumbayá?", first_name="Jorge")
    config = config_for(tmp_path, {"tg": api})
    ingest_and_build_sla(config, "tg", NOW)
    assert query(
        config,
        "select item_comment_id, first_response_comment_id, calendar_minutes_to_respond "
        "from marts.fct_sla_events where platform = 'telegram' order by arrived_at",
    ) == [(f"{CHAT}:11", f"{CHAT}:12", 30), (f"{CHAT}:13", None, None)]
