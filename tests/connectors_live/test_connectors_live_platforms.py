"""What each platform does differently: quotas, usage headers, edits and deletions, threads, secrets."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from live_harness import (
    NOW,
    T0,
    Sleeps,
    comment_ids,
    config_for,
    make_fake,
    own_warehouse,  # noqa: F401 - autouse fixture
    query,
    seed,
)

from connectors.http_client import HttpClient, RetryPolicy, mask_secrets, reset_in, retry_after
from connectors.runner import parse_since, run_sources
from connectors.sources import build_connector


@pytest.fixture
def fake(monkeypatch):
    started = []

    def start(platform: str, **kw):
        api = make_fake(platform, **kw).__enter__()
        started.append(api)
        for k, v in api.env().items():
            monkeypatch.setenv(k, v)
        seed(api)
        return api

    yield start
    for api in started:
        api.__exit__(None, None, None)


def rows(config, sql, params=None):
    return query(config, sql, params)


def test_youtube_quota_stops_for_this_run_and_resumes(fake, tmp_path):
    api = fake("youtube")
    api.quota_exceeded()
    config = config_for(tmp_path, {"yt": api})
    report = run_sources(config, now=NOW, sleep=Sleeps())["yt"]
    assert report.status == "stopped"
    assert "quota" in report.message and "next run resumes" in report.message
    assert comment_ids(config, "youtube") == set()
    assert rows(config, "select count(*) from raw.posts") == [(3,)]  # videos landed before the quota ran out
    api.faults.clear()
    report = run_sources(config, now=NOW, sleep=Sleeps())["yt"]
    assert report.status == "ok"
    assert comment_ids(config, "youtube") == {"c1", "r1", "c2", "c3", "c4"}


def test_youtube_edit_replaces_the_comment(fake, tmp_path):
    api = fake("youtube")
    config = config_for(tmp_path, {"yt": api})
    run_sources(config, now=NOW, sleep=Sleeps())
    api.edit_comment("c3", T0 + dt.timedelta(hours=5), "¿Tienen descafeinado? (editado)")
    report = run_sources(config, now=NOW + dt.timedelta(hours=1), sleep=Sleeps())["yt"]
    assert report.count("comments", "updated") == 1 and report.count("comments", "inserted") == 0
    assert rows(config, "select message, updated_at from raw.comments where comment_id = 'c3'") == [
        ("¿Tienen descafeinado? (editado)", "2026-11-16T17:00:00+00:00")
    ]


def test_reddit_deleted_comment_is_flagged_not_duplicated(fake, tmp_path):
    api = fake("reddit")
    config = config_for(tmp_path, {"rd": api})
    run_sources(config, now=NOW, sleep=Sleeps())
    api.delete("c3")
    later = NOW + dt.timedelta(hours=2)
    report = run_sources(config, now=later, sleep=Sleeps())["rd"]
    assert report.count("comments", "inserted") == 0
    assert rows(
        config, "select is_deleted, updated_at, author_id from raw.comments where comment_id = 't1_c3'"
    ) == [("true", "2026-11-17T14:00:00+00:00", "[deleted]")]
    assert rows(config, "select count(*) from raw.comments where platform = 'reddit'") == [(5,)]


def test_reddit_threads_under_brand_post_start_at_top_level_comment(fake, tmp_path):
    api = fake("reddit")
    api.add_post("q1", T0 + dt.timedelta(hours=4), author="member_2")  # a member's question
    api.add_reply("r2", "q1", T0 + dt.timedelta(hours=5), "¡Hola! Sí, abrimos.")
    config = config_for(tmp_path, {"rd": api})
    run_sources(config, now=NOW, sleep=Sleeps())
    got = {
        r[0]: r[1:]
        for r in rows(
            config, "select comment_id, thread_id, parent_id, channel, post_id, author_id from raw.comments"
        )
    }
    assert got["t1_c1"] == ("t1_c1", None, "comment", "t3_p1", "member_1")
    assert got["t1_r1"] == (None, "t1_c1", "reply", "t3_p1", "reddit-brand")
    assert got["t3_q1"] == ("t3_q1", None, "comment", "t3_q1", "member_2")
    assert got["t1_r2"] == ("t3_q1", "t3_q1", "reply", None, "reddit-brand")


def test_reddit_pauses_when_the_rate_limit_runs_out(fake, tmp_path):
    api = fake("reddit")
    api.remaining = 1.0  # the first call uses the last one; the fake says it resets in 120 s
    config = config_for(tmp_path, {"rd": api})
    sleeps = Sleeps()
    assert run_sources(config, now=NOW, sleep=sleeps)["rd"].status == "ok"
    assert sleeps.waits.count(120.0) >= 1


def test_reddit_bad_client_secret_is_a_clear_failure(fake, tmp_path, monkeypatch):
    api = fake("reddit")
    monkeypatch.setenv("TEST_REDDIT_SECRET", "wrong-secret-value")
    config = config_for(tmp_path, {"rd": api})
    report = run_sources(config, now=NOW, sleep=Sleeps())["rd"]
    assert report.status == "failed" and "client id and secret" in report.message
    assert "wrong-secret-value" not in report.message


def test_meta_usage_above_threshold_slows_down(fake, tmp_path):
    api = fake("facebook")
    api.app_usage = {"call_count": 90, "total_cputime": 10, "total_time": 10}
    config = config_for(tmp_path, {"fb": api})
    sleeps = Sleeps()
    assert run_sources(config, now=NOW, sleep=sleeps)["fb"].status == "ok"
    # 80 % threshold: 5 s at 80 %, one more minute by 100 %; 90 % -> 5 + 10 * 60 / 20 = 35 s after each call.
    assert sleeps.waits and set(sleeps.waits) == {35.0}


def test_meta_long_throttle_stops_after_landing(fake, tmp_path):
    api = fake("facebook")
    usage = {
        "1001": [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 30,
                "total_time": 40,
                "estimated_time_to_regain_access": 30,
            }
        ]
    }
    api.fail(
        "/comments",
        400,
        {
            "error": {
                "message": "(#32) Page request limit reached",
                "type": "OAuthException",
                "code": 32,
                "fbtrace_id": "x",
            }
        },
        {"X-Business-Use-Case-Usage": json.dumps(usage)},
    )
    config = config_for(tmp_path, {"fb": api})
    report = run_sources(config, now=NOW, sleep=Sleeps())["fb"]
    assert report.status == "stopped"
    assert "wait 1800s" in report.message and "next run resumes" in report.message


def test_meta_expired_token_message_says_what_to_do(fake, tmp_path):
    api = fake("instagram")
    api.expire_credentials()
    config = config_for(tmp_path, {"ig": api})
    report = run_sources(config, now=NOW, sleep=Sleeps())["ig"]
    assert report.status == "failed"
    assert "Meta error 190/463" in report.message and "TEST_META_TOKEN" in report.message
    assert api.token not in report.message


def test_meta_permission_error_names_the_permissions(fake, tmp_path):
    api = fake("facebook")
    api.fail(
        "/posts",
        403,
        {
            "error": {
                "message": "(#10) This endpoint requires the 'pages_read_engagement' permission",
                "type": "OAuthException",
                "code": 10,
            }
        },
    )
    config = config_for(tmp_path, {"fb": api})
    report = run_sources(config, now=NOW, sleep=Sleeps())["fb"]
    assert report.status == "failed" and "pages_read_user_content" in report.message


def test_instagram_replies_and_brand_author(fake, tmp_path):
    api = fake("instagram")
    config = config_for(tmp_path, {"ig": api})
    run_sources(config, now=NOW, sleep=Sleeps())
    got = {
        r[0]: r[1:]
        for r in rows(config, "select comment_id, parent_id, thread_id, channel, author_id from raw.comments")
    }
    assert got["r1"] == ("c1", "c1", "reply", "instagram-brand")
    assert got["c1"] == (None, "c1", "comment", "2002")


def test_discourse_deleted_post_and_brand_topic(fake, tmp_path):
    api = fake("discourse")
    config = config_for(tmp_path, {"forum": api})
    run_sources(config, now=NOW, sleep=Sleeps())
    api.delete("c4", T0 + dt.timedelta(hours=6))
    report = run_sources(config, now=NOW + dt.timedelta(hours=1), sleep=Sleeps())["forum"]
    assert report.count("comments", "inserted") == 0 and report.count("comments", "updated") == 1
    c4 = api.record_id("c4")
    assert rows(config, "select is_deleted, updated_at from raw.comments where comment_id = ?", [c4]) == [
        ("true", "2026-11-16T18:00:00+00:00")
    ]
    posts = rows(config, "select post_id, message, account_id from raw.posts order by post_id")
    assert [p[1] for p in posts] == ["Topic p1", "Topic p2", "Topic p3"]
    # A reply points at the post it answers; the topic's first post is the thread.
    r1, c1 = api.record_id("r1"), api.record_id("c1")
    assert rows(
        config, "select parent_id, thread_id, author_id from raw.comments where comment_id = ?", [r1]
    ) == [(c1, c1.split("-")[0] + "-1", "discourse-brand")]


def test_discourse_member_topic_is_not_a_brand_post(fake, tmp_path):
    api = fake("discourse")
    api.add_topic("q1", T0 + dt.timedelta(hours=3), "maria", "¿Venden café molido?")
    config = config_for(tmp_path, {"forum": api})
    run_sources(config, now=NOW, sleep=Sleeps())
    assert rows(config, "select count(*) from raw.posts") == [(3,)]
    q1 = api.record_id("q1")
    assert rows(
        config, "select channel, author_id, message from raw.comments where comment_id = ?", [q1]
    ) == [("comment", "maria", "¿Venden café molido?")]


def test_mastodon_mentions_edits_and_threads(fake, tmp_path):
    api = fake("mastodon")
    api.add_mention("m1", T0 + dt.timedelta(hours=3), "¿hay leche de avena?")
    api.add_reply("r2", "m1", T0 + dt.timedelta(hours=4), "¡Sí!")
    config = config_for(tmp_path, {"md": api}, lookback_days=0)
    run_sources(config, now=NOW, sleep=Sleeps())
    got = {
        r[0]: r[1:]
        for r in rows(
            config, "select comment_id, channel, thread_id, parent_id, post_id, author_id from raw.comments"
        )
    }
    m1, r2, c1, r1 = (api.record_id(x) for x in ("m1", "r2", "c1", "r1"))
    p1 = api.record_id("p1")
    assert got[m1] == ("mention", m1, None, None, "556")
    assert got[r2] == ("reply", m1, m1, None, "mastodon-brand")
    assert got[c1] == ("comment", c1, None, p1, "555")
    assert got[r1] == ("reply", c1, c1, p1, "mastodon-brand")
    api.edit("m1", T0 + dt.timedelta(hours=6), "¿hay leche de avena o de almendra?")
    api.requests.clear()
    report = run_sources(config, now=NOW + dt.timedelta(hours=1), sleep=Sleeps())["md"]
    # lookback 0: mentions are asked for with since_id, so the edit is not re-read...
    assert any(r.arg("since_id") for r in api.requests if r.path.endswith("/notifications"))
    assert report.count("comments", "updated") == 0
    # ...while a look-back window re-reads it and replaces the text.
    config3 = config_for(tmp_path, {"md": api}, lookback_days=3)
    report = run_sources(config3, now=NOW + dt.timedelta(hours=2), sleep=Sleeps())["md"]
    assert report.count("comments", "updated") == 1
    assert rows(config, "select message from raw.comments where comment_id = ?", [m1]) == [
        ("¿hay leche de avena o de almendra?",)
    ]


def test_unknown_platform_and_unknown_source_are_clear(fake, tmp_path):
    from tertulia.config import ConfigError, parse_config

    data = {"community": {"name": "x"}, "warehouse": {"path": str(tmp_path / "w.duckdb")}}
    # A platform with no live connector is refused when community.yml loads, not at the first run.
    with pytest.raises(ConfigError, match="sources.tt.platform: unknown live source platform 'tiktok'"):
        parse_config({**data, "sources": {"tt": {"platform": "tiktok"}}})
    with pytest.raises(Exception, match="no source named nope"):
        run_sources(parse_config(data), ["nope"], now=NOW)


def test_disabled_sources_are_skipped_unless_named(fake, tmp_path):
    api = fake("youtube")
    config = config_for(tmp_path, {"yt": api}, enabled=False)
    assert run_sources(config, now=NOW, sleep=Sleeps()) == {}
    assert run_sources(config, ["yt"], now=NOW, sleep=Sleeps())["yt"].status == "ok"


def test_secrets_are_masked_everywhere(fake, tmp_path):
    api = fake("facebook")
    config = config_for(tmp_path, {"fb": api})
    connector = build_connector(config, "fb", now=NOW)
    assert api.token not in repr(connector) and api.token not in repr(connector.client)
    text = f"GET http://x/v21.0/1001?access_token={api.token}&fields=id failed"
    assert mask_secrets(text, ()) == "GET http://x/v21.0/1001?access_token=***&fields=id failed"
    assert api.token not in connector.client.mask(f"token {api.token} leaked")
    connector.client.close()


def test_http_helpers_read_waits():
    now = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
    assert reset_in("2026-11-20T12:00:30.000Z", now) == 30.0
    assert reset_in("45", now) == 45.0
    assert reset_in(str(now.timestamp() + 10), now) == 10.0
    assert reset_in("garbage", now) is None
    resp = httpx.Response(429, headers={"Retry-After": "Fri, 20 Nov 2026 12:01:00 GMT"})
    assert retry_after(resp, now) == 60.0
    assert retry_after(httpx.Response(429)) is None


def test_timeouts_are_retried_with_backoff():
    calls = []

    def handler(request):
        calls.append(request)
        if len(calls) < 3:
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(200, json={"ok": True})

    sleeps = Sleeps()
    client = HttpClient(
        source="s",
        base_url="http://fake",
        transport=httpx.MockTransport(handler),
        sleep=sleeps,
        policy=RetryPolicy(base_delay=2.0),
    )
    body, _ = client.get_json("x")
    assert body == {"ok": True} and len(calls) == 3
    # Waits: attempt 0 in [1, 2] (half of 2 s plus jitter up to 1 s), attempt 1 in [2, 4].
    assert 1.0 <= sleeps.waits[0] <= 2.0 and 2.0 <= sleeps.waits[1] <= 4.0


def test_parse_since():
    assert parse_since("2026-01-31") == dt.datetime(2026, 1, 31, tzinfo=dt.UTC)
    assert parse_since("2026-01-31T10:00:00-05:00") == dt.datetime(2026, 1, 31, 15, tzinfo=dt.UTC)
    assert parse_since(None) is None
    with pytest.raises(ValueError, match="--since 'yesterday'"):
        parse_since("yesterday")


def test_page_not_in_the_contract_is_refused_whole():
    from connectors.base import Page
    from connectors.http_client import MalformedResponse
    from connectors.runner import check_page

    check_page("s", 1, Page({"comments": [{"comment_id": "1", "like_count": None}]}))
    with pytest.raises(MalformedResponse, match="source s: page 3, comments record 2: values of like_count"):
        check_page("s", 3, Page({"comments": [{"like_count": "1"}, {"like_count": 4}]}))
    with pytest.raises(MalformedResponse, match="unknown entity 'likes'"):
        check_page("s", 1, Page({"likes": []}))


def test_quarantined_rows_are_reported_with_the_run(fake, tmp_path):
    api = fake("youtube")
    api.add_member_comment("bad", "p3", T0 + dt.timedelta(hours=3), "x\x00y")  # a NUL byte: landing holds it
    config = config_for(tmp_path, {"yt": api})
    report = run_sources(config, now=NOW, sleep=Sleeps())["yt"]
    assert report.count("comments", "quarantined") == 1
    assert any("NUL" in n for n in report.notes)
    assert "bad" not in comment_ids(config, "youtube")


def test_youtube_oauth_token_expired(fake, tmp_path, monkeypatch):
    api = fake("youtube")
    monkeypatch.setenv("TEST_YT_OAUTH", api.oauth_token)
    config = config_for(tmp_path, {"yt": api}, token_env="TEST_YT_OAUTH", api_key_env=None)
    assert run_sources(config, now=NOW, sleep=Sleeps())["yt"].status == "ok"
    assert all(r.arg("key") is None for r in api.requests)  # the token replaces the key
    api.expire_credentials()
    report = run_sources(config, now=NOW + dt.timedelta(hours=1), sleep=Sleeps())["yt"]
    assert report.status == "failed"
    assert "HTTP 401 authError" in report.message and "Refresh it" in report.message
    assert api.oauth_token not in report.message
