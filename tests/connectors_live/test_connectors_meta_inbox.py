"""Meta's opt-in streams: Messenger and Instagram conversations (`dm`) and Page ratings (`review`)."""

from __future__ import annotations

import datetime as dt

import pytest
from fakes.meta_api import FakeMeta, graph_error
from live_harness import (
    NOW,
    T0,
    Sleeps,
    ingest_and_build_sla,
    own_warehouse,  # noqa: F401 - autouse fixture
    query,
)

from connectors.runner import run_sources
from tertulia.config import parse_config

H = dt.timedelta(hours=1)


@pytest.fixture
def meta(monkeypatch):
    started = []

    def start(platform: str, page_size: int = 2) -> FakeMeta:
        api = FakeMeta(platform, page_size=page_size).__enter__()
        started.append(api)
        for k, v in api.env().items():
            monkeypatch.setenv(k, v)
        return api

    yield start
    for api in started:
        api.__exit__(None, None, None)


def config_in(tmp_path, api: FakeMeta, **source):
    return parse_config(
        {
            "community": {"name": "Test", "timezone": "America/Guayaquil"},
            "accounts": [{"platform": api.platform, "account_id": f"{api.platform}-brand"}],
            "business_hours": {"weekly": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}},
            "sla": {"policies": [{"name": "dm_1h", "match": {"channel": ["dm"]}, "target_minutes": 60}]},
            "warehouse": {"path": str(tmp_path / "warehouse.duckdb"), "publish_dir": str(tmp_path / "pub")},
            "sources": {"src": {**api.source_config_with_inbox(), **source}},
        },
        source=tmp_path / "community.yml",
        base_dir=tmp_path,
    )


def comments(config, platform: str) -> dict[str, tuple]:
    rows = query(
        config,
        "select comment_id, thread_id, parent_id, author_id, channel, message from raw.comments "
        "where platform = ? order by comment_id",
        [platform],
    )
    return {r[0]: r[1:] for r in rows}


def seed_inbox(api: FakeMeta) -> None:
    """Three conversations (one of three messages, to page), three ratings, one brand post."""
    api.add_post("p1", T0 - 2 * H)
    api.add_member_comment("c1", "p1", T0 - H, "¿Abren el domingo?")
    api.add_message("m1", "t_1", T0, "Hola, ¿hacen envíos?", author="2002")
    api.add_message("m2", "t_1", T0 + H, "¡Hola! Sí, a todo Quito.", author=api.node)
    api.add_message("m3", "t_1", T0 + 2 * H, "Gracias", author="2002")
    api.add_message("m4", "t_2", T0 + 3 * H, "Is the shop open today?", author="2003")
    api.add_message("m5", "t_3", T0 + 4 * H, "¿Tienen descafeinado?", author="2004")
    if api.platform == "facebook":
        api.add_rating("s1", T0 - H, "El mejor café de Quito", reviewer="3001")
        api.add_review_reply("s1r", "s1", T0, "¡Gracias por venir!")
        api.add_rating("s2", T0 + H, "Cold coffee, slow service", positive=False, reviewer="3002")
        api.add_rating("s3", T0 + 2 * H, None, reviewer="3003")


def test_facebook_dms_and_reviews_land_with_threads_and_brand(meta, tmp_path):
    api = meta("facebook")
    seed_inbox(api)
    config = config_in(tmp_path, api)
    report = run_sources(config, now=NOW, sleep=Sleeps())["src"]
    assert report.status == "ok", report.message
    got = comments(config, "facebook")
    brand = "facebook-brand"
    assert {k: v for k, v in got.items() if v[3] == "dm"} == {
        "m1": ("t_1", None, "2002", "dm", "Hola, ¿hacen envíos?"),
        "m2": ("t_1", None, brand, "dm", "¡Hola! Sí, a todo Quito."),
        "m3": ("t_1", None, "2002", "dm", "Gracias"),
        "m4": ("t_2", None, "2003", "dm", "Is the shop open today?"),
        "m5": ("t_3", None, "2004", "dm", "¿Tienen descafeinado?"),
    }
    assert {k: v for k, v in got.items() if v[0] in ("s1", "s2", "s3")} == {
        "s1": ("s1", None, "3001", "review", "El mejor café de Quito"),
        "s1r": ("s1", "s1", brand, "reply", "¡Gracias por venir!"),
        "s2": ("s2", None, "3002", "review", "Cold coffee, slow service"),
        "s3": ("s3", None, "3003", "review", None),
    }
    assert "c1" in got  # the post stream still reads its comments
    # Two conversations a page, two messages a page: both listings were followed past their first page.
    paged = [r.path for r in api.requests if r.arg("after")]
    assert any(p.endswith("/1001/conversations") for p in paged)
    assert any(p.endswith("/t_1/messages") for p in paged)
    assert any(p.endswith("/1001/ratings") for p in paged)
    assert all(r.arg("platform") == "messenger" for r in api.requests if r.path.endswith("/conversations"))


def test_instagram_conversations_through_the_linked_page(meta, tmp_path):
    api = meta("instagram")
    seed_inbox(api)
    config = config_in(tmp_path, api)
    assert run_sources(config, now=NOW, sleep=Sleeps())["src"].status == "ok"
    got = comments(config, "instagram")
    assert got["m2"] == ("t_1", None, "instagram-brand", "dm", "¡Hola! Sí, a todo Quito.")
    assert got["m4"] == ("t_2", None, "2003", "dm", "Is the shop open today?")
    assert {k for k, v in got.items() if v[3] == "dm"} == {"m1", "m2", "m3", "m4", "m5"}
    assert all(r.arg("platform") == "instagram" for r in api.requests if r.path.endswith("/conversations"))


def test_instagram_messages_need_the_linked_page(meta, tmp_path):
    api = meta("instagram")
    config = config_in(tmp_path, api, page_id=None)
    report = run_sources(config, now=NOW, sleep=Sleeps())["src"]
    assert report.status == "failed" and "page_id" in report.message


def test_a_later_message_in_an_old_conversation_lands_within_the_look_back(meta, tmp_path):
    api = meta("facebook")
    seed_inbox(api)
    config = config_in(tmp_path, api)
    run_sources(config, now=NOW, sleep=Sleeps())
    api.add_message("m6", "t_2", NOW + H, "¿Sigue abierto?", author="2003")
    api.requests.clear()
    assert run_sources(config, now=NOW + 2 * H, sleep=Sleeps())["src"].status == "ok"
    assert comments(config, "facebook")["m6"] == ("t_2", None, "2003", "dm", "¿Sigue abierto?")
    # Nothing read twice lands twice.
    assert query(
        config, "select count(*), count(distinct comment_id) from raw.comments where channel = 'dm'"
    ) == [(6, 6)]


@pytest.mark.parametrize(
    ("path", "code", "permission", "stream_kept", "stream_lost"),
    [
        ("/conversations", 10, "pages_messaging", "review", "dm"),
        ("/ratings", 200, "pages_read_user_content", "dm", "review"),
    ],
)
def test_a_refused_permission_stops_only_that_stream(
    meta, tmp_path, path, code, permission, stream_kept, stream_lost
):
    api = meta("facebook")
    seed_inbox(api)
    api.fail(
        path, 403, graph_error(code, f"(#{code}) Requires {permission} permission", kind="OAuthException")
    )
    config = config_in(tmp_path, api)
    report = run_sources(config, now=NOW, sleep=Sleeps())["src"]
    assert report.status == "ok", report.message
    note = next(n for n in report.notes if permission in n)
    setting = "read_messages" if stream_lost == "dm" else "read_ratings"
    assert f"Meta error {code}" in note and f"{setting}: false" in note and api.token not in note
    channels = {r[0] for r in query(config, "select distinct channel from raw.comments")}
    assert {"comment", stream_kept} <= channels and stream_lost not in channels
    # Granted now: the next run reads the stream it skipped, and the others are not skipped for it.
    report = run_sources(config, now=NOW, sleep=Sleeps())["src"]
    assert report.status == "ok" and not [n for n in report.notes if permission in n]
    channels = {r[0] for r in query(config, "select distinct channel from raw.comments")}
    assert {"comment", "dm", "review"} <= channels


def test_instagram_refused_messages_name_instagram_manage_messages(meta, tmp_path):
    api = meta("instagram")
    seed_inbox(api)
    api.add_post("p2", T0)
    api.fail("/conversations", 400, graph_error(10, "(#10) Application does not have permission"))
    config = config_in(tmp_path, api)
    report = run_sources(config, now=NOW, sleep=Sleeps())["src"]
    assert report.status == "ok"
    assert any("instagram_manage_messages" in n for n in report.notes)
    assert query(config, "select count(*) from raw.posts where platform = 'instagram'") == [(2,)]


@pytest.mark.integration
def test_a_dm_becomes_an_sla_event_in_business_minutes(meta, tmp_path):

    api = meta("facebook")
    # Monday 2026-11-16 17:30 in Guayaquil (UTC-5) is 22:30 UTC; answered Tuesday 09:15 (14:15 UTC).
    asked = dt.datetime(2026, 11, 16, 22, 30, tzinfo=dt.UTC)
    api.add_message("d1", "t_9", asked, "¿Me ayudan con mi pedido 4471?", author="2009")
    api.add_message(
        "d2", "t_9", asked + dt.timedelta(hours=15, minutes=45), "¡Claro! Sale hoy.", author=api.node
    )
    now = dt.datetime(2026, 11, 17, 20, 0, tzinfo=dt.UTC)
    config = config_in(tmp_path, api, read_ratings=False)
    ingest_and_build_sla(config, "src", now)
    got = query(
        config,
        "select channel, thread_id, item_comment_id, first_response_comment_id, policy_name, "
        "calendar_minutes_to_respond, business_minutes_to_respond, is_breached "
        "from marts.fct_sla_events where platform = 'facebook'",
    )
    # Open 09:00-18:00 Mon-Fri: 30 minutes on Monday (17:30-18:00) and 15 on Tuesday (09:00-09:15) = 45,
    # within the hour of dm_1h; calendar 15 h 45 min = 945 minutes.
    assert got == [("dm", "t_9", "d1", "d2", "dm_1h", 945, 45, False)]
