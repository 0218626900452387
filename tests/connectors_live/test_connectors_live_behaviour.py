"""Every live connector against its fake API: pagination, resume, look-back, rate limits, errors."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from live_harness import (
    NOW,
    PLATFORMS,
    T0,
    VIEWS_COLUMN,
    Sleeps,
    comment_ids,
    config_for,
    expected_ids,
    make_fake,
    own_warehouse,  # noqa: F401 - autouse fixture
    query,
    seed,
)

from connectors.runner import run_sources
from connectors.sources import build_connector


@pytest.fixture(params=PLATFORMS)
def api(request, monkeypatch):
    with make_fake(request.param) as fake:
        for k, v in fake.env().items():
            monkeypatch.setenv(k, v)
        seed(fake)
        yield fake


def run(config, *, now=NOW, names=None, sleep=None):
    return run_sources(config, names, now=now, sleep=sleep or Sleeps())


def test_pagination_lands_every_page(api, tmp_path):
    config = config_for(tmp_path, {"src": api})
    report = run(config)["src"]
    assert report.status == "ok", report.message
    assert comment_ids(config, api.platform) == expected_ids(api)
    posts = query(config, "select post_id, account_id from raw.posts where platform = ?", [api.platform])
    assert len(posts) == 3 and {a for _, a in posts} == {f"{api.platform}-brand"}
    # The listing that holds the comments was read in more than one page.
    assert sum(api.comments_path in p for p in api.paths()) >= 2
    # The brand's reply is authored by the configured account, so the marts see the brand speaking.
    authors = dict(
        query(config, "select comment_id, author_id from raw.comments where platform = ?", [api.platform])
    )
    assert authors[api.record_id("r1")] == f"{api.platform}-brand"
    assert authors[api.record_id("c3")] != f"{api.platform}-brand"
    assert report.count("comments") == len(expected_ids(api))


def test_second_run_lands_only_what_is_new(api, tmp_path):
    config = config_for(tmp_path, {"src": api}, lookback_days=0)
    assert run(config)["src"].status == "ok"
    api.add_member_comment("c5", "p3", T0 + dt.timedelta(hours=3), "¿Hacen envíos?")
    api.requests.clear()
    report = run(config, now=NOW + dt.timedelta(hours=1))["src"]
    assert report.status == "ok", report.message
    assert report.count("comments", "inserted") == 1
    assert report.count("comments", "updated") == 0
    assert comment_ids(config, api.platform) == expected_ids(api) | {api.record_id("c5")}
    # The state is in the warehouse, with no error left.
    ((cursor, error),) = query(
        config, "select cursor, last_error from tertulia.connector_state where source = 'src'"
    )
    assert error is None and json.loads(cursor)


def test_page_budget_spreads_a_backfill_over_runs(api, tmp_path):
    config = config_for(tmp_path, {"src": api}, max_pages_per_run=2)
    statuses = []
    for i in range(15):
        report = run(config, now=NOW + dt.timedelta(minutes=i))["src"]
        statuses.append(report.status)
        assert report.pages <= 2
        if report.status == "ok":
            break
    assert statuses[0] == "partial" and statuses[-1] == "ok"
    assert comment_ids(config, api.platform) == expected_ids(api)
    assert query(config, "select count(*) from raw.posts where platform = ?", [api.platform]) == [(3,)]


def test_lookback_rereads_recent_post_metrics(api, tmp_path):
    api.add_post("old", T0 - dt.timedelta(days=10), views=5)
    config = config_for(tmp_path, {"src": api}, lookback_days=3)
    assert run(config)["src"].status == "ok"
    api.set_views("p1", 99)
    api.set_views("old", 77)
    assert run(config, now=NOW + dt.timedelta(hours=6))["src"].status == "ok"
    col = VIEWS_COLUMN[api.platform]
    rows = query(
        config,
        f"select post_id, {col} from raw.post_metrics where platform = ? order by post_id, captured_at",
        [api.platform],
    )
    by_post: dict[str, list] = {}
    for post_id, value in rows:
        by_post.setdefault(post_id, []).append(value)
    p1 = [k for k, v in by_post.items() if v[0] == "10"]
    old = [k for k, v in by_post.items() if v[0] == "5"]
    assert len(p1) == 1 and by_post[p1[0]] == ["10", "99"]  # re-read inside the window
    assert len(old) == 1 and by_post[old[0]] == ["5"]  # ten days old: outside the window, not re-read


@pytest.mark.parametrize("retry_after", ["0", "7"])
def test_rate_limit_waits_as_told_and_never_spins(api, tmp_path, retry_after):
    config = config_for(tmp_path, {"src": api})
    api.rate_limit(retry_after)
    sleeps = Sleeps()
    report = run(config, sleep=sleeps)["src"]
    assert report.status == "ok", report.message
    assert comment_ids(config, api.platform) == expected_ids(api)
    # "Retry-After: 0" still waits the floor (1 s): a zero wait never becomes a busy loop.
    assert max(1.0, float(retry_after)) in sleeps.waits
    assert all(w >= 1.0 for w in sleeps.waits)


def test_server_error_then_success(api, tmp_path):
    config = config_for(tmp_path, {"src": api})
    api.fail(api.comments_path, 503, {"error": "backend unavailable"})
    sleeps = Sleeps()
    report = run(config, sleep=sleeps)["src"]
    assert report.status == "ok", report.message
    assert comment_ids(config, api.platform) == expected_ids(api)
    assert len(sleeps.waits) == 1 and 1.0 <= sleeps.waits[0] <= 1.0  # first backoff: base 1 s, jitter capped


def test_server_errors_are_bounded(api, tmp_path):
    config = config_for(tmp_path, {"src": api})
    api.fail(api.comments_path, 500, {"error": "boom"}, times=100)
    sleeps = Sleeps()
    report = run(config, sleep=sleeps)["src"]
    assert report.status == "stopped"
    assert "still failing after 5 attempts" in report.message and "src" in report.message
    assert len(sleeps.waits) == 4  # five attempts, four waits between them
    # Exponential: each wait's upper bound doubles (base 1 s, jitter in the upper half).
    assert [1.0 <= w <= 2**i for i, w in enumerate(sleeps.waits)] == [True] * 4


def test_expired_token_stops_that_source_only(api, tmp_path, monkeypatch):
    other = make_fake("mastodon" if api.platform != "mastodon" else "youtube")
    with other:
        for k, v in other.env().items():
            monkeypatch.setenv(k, v)
        seed(other)
        config = config_for(tmp_path, {"broken": api, "healthy": other})
        api.expire_credentials()
        reports = run(config)
    broken, healthy = reports["broken"], reports["healthy"]
    assert broken.status == "failed"
    assert "broken" in broken.message
    assert any(w in broken.message for w in ("token", "key", "credentials"))
    for secret in api.env().values():
        assert secret not in broken.message
    assert healthy.status == "ok", healthy.message
    assert comment_ids(config, other.platform) == expected_ids(other)
    assert comment_ids(config, api.platform) == set()
    ((error,),) = query(config, "select last_error from tertulia.connector_state where source = 'broken'")
    assert error == broken.message


def test_malformed_page_lands_nothing_of_it(api, tmp_path):
    # The second comment listing answers an HTML error page with HTTP 200.
    api.malform(api.comments_path, skip=1)
    config = config_for(tmp_path, {"src": api})
    # What the connector yields before the bad page (read directly, nothing landed).
    connector = build_connector(config, "src", now=NOW, sleep=Sleeps())
    yielded: set[str] = set()
    with pytest.raises(Exception) as caught:
        for page in connector.fetch(None):
            yielded |= {c["comment_id"] for c in page.records.get("comments", [])}
    message = str(caught.value)
    assert (
        "source src" in message
        and api.comments_path.strip("/") in message
        and "Nothing from this page" in message
    )
    # Same fault again, through the runner into the warehouse.
    api.malform(api.comments_path, skip=1)
    api.requests.clear()
    report = run(config)["src"]
    assert report.status == "stopped" and "source src" in report.message
    assert comment_ids(config, api.platform) == yielded
    assert yielded < expected_ids(api)
    # The next run resumes from the last landed page and completes.
    report = run(config, now=NOW + dt.timedelta(minutes=5))["src"]
    assert report.status == "ok", report.message
    assert comment_ids(config, api.platform) == expected_ids(api)


def test_missing_credential_says_which_variable(api, tmp_path, monkeypatch):
    config = config_for(tmp_path, {"src": api})
    for k in api.env():
        monkeypatch.delenv(k)
    report = run(config)["src"]
    assert report.status == "failed"
    missing = next(iter(api.env()))
    assert missing in report.message and "export" in report.message


def test_since_backfills_older_history(api, tmp_path):
    api.add_post("old", T0 - dt.timedelta(days=40), views=5)
    config = config_for(tmp_path, {"src": api})
    run(config)
    count = "select count(*) from raw.posts where platform = ?"
    assert query(config, count, [api.platform]) == [(3,)]  # default start: 30 days back
    reports = run_sources(config, since=T0 - dt.timedelta(days=45), now=NOW, sleep=Sleeps())
    assert reports["src"].status == "ok"
    assert query(config, count, [api.platform]) == [(4,)]
    assert os.environ  # env untouched by the run
