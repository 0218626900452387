"""Discord against a local fake of its REST API: conversations and threads, the brand's answers, paging,
edits on re-read, rate limits, a refused token, and the messages all the way to the SLA mart."""

from __future__ import annotations

import datetime as dt

import pytest
from fakes.discord_api import FakeDiscord
from live_harness import (
    NOW,
    T0,
    Sleeps,
    config_for,
    ingest_and_build_sla,
    own_warehouse,  # noqa: F401 - autouse fixture
    query,
)

from connectors.discord import snowflake_time, time_snowflake
from connectors.runner import run_sources

CHANNEL = "800000000000000010"  # #soporte
MARIA, JORGE, ANA_TEAM = "600000000000000001", "600000000000000002", "700000000000000001"
H = dt.timedelta(hours=1)


@pytest.fixture
def discord(monkeypatch):
    with FakeDiscord() as api:
        for k, v in api.env().items():
            monkeypatch.setenv(k, v)
        api.add_channel(CHANNEL)
        ids = {
            "old": api.add_message(CHANNEL, T0 - dt.timedelta(days=40), MARIA, "hace mucho"),
            "m1": api.add_message(CHANNEL, T0 - 2 * H, MARIA, "¿Abren el domingo?", name="María"),
        }
        ids["m2"] = api.add_message(
            CHANNEL, T0 - H, ANA_TEAM, "¡Sí, de 8 a 14!", reply_to=ids["m1"], name="Ana"
        )
        ids["m3"] = api.add_message(CHANNEL, T0, JORGE, "Gracias", reply_to=ids["m2"], name="Jorge")
        ids["m4"] = api.add_message(CHANNEL, T0 + H, MARIA, "El pedido llegó frío")
        ids["join"] = api.add_message(CHANNEL, T0 + 2 * H, JORGE, "", type_=7)  # "Jorge joined": not talk
        ids["m5"] = api.add_message(CHANNEL, T0 + 3 * H, JORGE, "Problema con mi pedido")
        api.add_thread(ids["m5"], CHANNEL)  # a thread opened on m5: its id is m5's
        ids["m6"] = api.add_message(ids["m5"], T0 + 4 * H, JORGE, "me cobraron dos veces")
        ids["m7"] = api.add_message(ids["m5"], T0 + 5 * H, api.bot_id, "Lo revisamos ahora mismo")
        api.react(ids["m1"], 3)
        yield api, ids


def _comments(config):
    return query(
        config,
        "select comment_id, post_id, parent_id, thread_id, author_id, channel, message, like_count "
        "from raw.comments where platform = 'discord' order by comment_id",
    )


def test_snowflakes_carry_their_time():
    t = dt.datetime(2026, 11, 16, 12, 0, tzinfo=dt.UTC)
    assert snowflake_time(time_snowflake(t)) == t
    assert snowflake_time("175928847299117063") == dt.datetime(2016, 4, 30, 11, 18, 25, 796000, tzinfo=dt.UTC)


def test_conversations_threads_and_brand_answers_land(discord, tmp_path):
    api, ids = discord
    config = config_for(tmp_path, {"dc": api}, channel_ids=[CHANNEL], page_size=2)
    report = run_sources(config, now=NOW, sleep=Sleeps())["dc"]
    assert report.status == "ok", report.message
    m = ids
    assert _comments(config) == sorted(
        [
            (m["m1"], CHANNEL, None, m["m1"], MARIA, "comment", "¿Abren el domingo?", "3"),
            (m["m2"], CHANNEL, m["m1"], m["m1"], "discord-brand", "reply", "¡Sí, de 8 a 14!", "0"),
            (m["m3"], CHANNEL, m["m2"], m["m1"], JORGE, "reply", "Gracias", "0"),  # the reply's reply
            (m["m4"], CHANNEL, None, m["m4"], MARIA, "comment", "El pedido llegó frío", "0"),
            (m["m5"], CHANNEL, None, m["m5"], JORGE, "comment", "Problema con mi pedido", "0"),
            (
                m["m6"],
                CHANNEL,
                m["m5"],
                m["m5"],
                JORGE,
                "reply",
                "me cobraron dos veces",
                "0",
            ),  # in the thread
            (m["m7"], CHANNEL, m["m5"], m["m5"], "discord-brand", "reply", "Lo revisamos ahora mismo", "0"),
        ]
    )  # the 40-day-old message is before the first run's window; the join notice is not conversation
    # Paged two by two, newest first, down to the window's start: [m5, join], [m4, m3], [m2, m1], [old]
    # (older than the window: the walk ends there); then the thread.
    befores = [r.arg("before") for r in api.requests if r.path.endswith(f"/channels/{CHANNEL}/messages")]
    assert befores == [None, m["join"], m["m3"], m["m1"]]
    assert any(r.path.endswith("/threads/active") for r in api.requests)


def test_a_second_run_changes_nothing_and_an_edit_is_seen_on_re_read(discord, tmp_path):
    api, ids = discord
    config = config_for(tmp_path, {"dc": api}, channel_ids=[CHANNEL], page_size=2)
    run_sources(config, now=NOW, sleep=Sleeps())
    before = _comments(config)
    again = run_sources(config, now=NOW, sleep=Sleeps())["dc"]
    assert again.status == "ok" and _comments(config) == before
    api.edit(ids["m4"], T0 + 6 * H, "El pedido llegó frío y tarde")
    run_sources(config, now=NOW + H, sleep=Sleeps())
    assert query(config, "select message from raw.comments where comment_id = ?", [ids["m4"]]) == [
        ("El pedido llegó frío y tarde",)
    ]
    assert query(config, "select count(*) from raw.comments where platform = 'discord'") == [(7,)]


def test_rate_limits_wait_as_discord_says(discord, tmp_path):
    api, _ = discord
    api.fail(
        "/messages", 429, {"message": "You are being rate limited.", "retry_after": 1.5, "global": False}
    )
    api.remaining_zero_once = True
    config = config_for(tmp_path, {"dc": api}, channel_ids=[CHANNEL])
    sleeps = Sleeps()
    report = run_sources(config, now=NOW, sleep=sleeps)["dc"]
    assert report.status == "ok", report.message
    # the body's retry_after, then X-RateLimit-Remaining: 0 -> X-RateLimit-Reset-After (0.25 s), raised to
    # the shared client's 1-second floor under every wait
    assert sleeps.waits == [1.5, 1.0]
    assert query(config, "select count(*) from raw.comments where platform = 'discord'") == [(7,)]


def test_a_refused_token_stops_the_source_with_what_to_do(discord, tmp_path, monkeypatch):
    api, _ = discord
    monkeypatch.setenv("TEST_DISCORD_TOKEN", "not-the-token")
    config = config_for(tmp_path, {"dc": api}, channel_ids=[CHANNEL])
    report = run_sources(config, now=NOW, sleep=Sleeps())["dc"]
    assert report.status == "failed"  # retrying cannot fix a refused token: the source waits for a person
    assert query(config, "select count(*) from raw.comments") == [(0,)]
    assert "Reset the token" in report.message and "TEST_DISCORD_TOKEN" in report.message
    assert "not-the-token" not in report.message


@pytest.mark.integration
def test_discord_messages_become_sla_events(discord, tmp_path):
    api, ids = discord
    config = config_for(tmp_path, {"dc": api}, channel_ids=[CHANNEL])
    ingest_and_build_sla(config, "dc", NOW)
    got = query(
        config,
        "select item_comment_id, first_response_comment_id, calendar_minutes_to_respond "
        "from marts.fct_sla_events where platform = 'discord' order by arrived_at",
    )
    # m1 answered by the team an hour later; Jorge's "Gracias" after that answer is a new message in the
    # conversation, waiting like m4; m5's thread answered by the bot two hours after m5 (m6, Jorge's second
    # message, is the same open item: no brand answer between them).
    assert got == [
        (ids["m1"], ids["m2"], 60),
        (ids["m3"], None, None),
        (ids["m4"], None, None),
        (ids["m5"], ids["m7"], 120),
    ]
