"""The Prefect watches on a PostgreSQL warehouse post what they post on DuckDB, each once.

After the sample's runs on both warehouses (the session's `runs` fixture, test_run_on_postgres.py), a
second small batch lands on each through the `file_drop_import` flow: one unanswered complaint on a new
thread and a burst of complaints on one post within the hour (it joins the crisis the sample opened). Then, at the same pinned instant on both,
`sla_watch`, `crisis_watch`, `daily_digest` and `weekly_report` run twice: the Slack posts of each watch
(text, channel, thread root) are the same on both warehouses, the second call posts nothing new, and
the weekly report's Markdown is the same.
"""

from __future__ import annotations

import json

import pytest

from tests.postgres.test_marts_on_postgres import environment
from tests.postgres.test_run_on_postgres import _messages

pytestmark = pytest.mark.integration

# the sample ends 2025-03-20 20:00 UTC (15:00 in the community's -05:00); the batch lands minutes later
# and the watches run an hour and a half after it, inside business hours, before any SLA deadline passes
WATCH_AT = "2025-03-20T21:30:00"
DIGEST_DAY = "2025-03-19"


def _comment(n: int, created: str, message: str, post_id: str, thread: str | None = None) -> dict:
    cid = f"ig-w{n:05d}"
    return {
        "platform": "instagram",
        "comment_id": cid,
        "post_id": post_id,
        "parent_id": None,
        "thread_id": thread or cid,
        "author_id": f"miembro{n}",
        "author_name": f"Miembro {n}",
        "created_at": created,
        "updated_at": created,
        "message": message,
        "channel": "comment",
        "like_count": 0,
        "source_app": "Instagram Web",
    }


def _batch() -> list[dict]:
    first = "¿Alguien me ayuda? Mi pedido no llegó 😡"
    rows = [_comment(1, "2025-03-20T15:05:00-05:00", first, "ig-p00099")]
    # a burst on one post: eighteen complaints in forty minutes
    for i in range(18):
        created = f"2025-03-20T15:{10 + 2 * i:02d}:00-05:00"
        text = "el café llegó rancio, qué vergüenza, devuélvanme el dinero 😡"
        rows.append(_comment(10 + i, created, text, "ig-p00099"))
    return rows


@pytest.fixture(scope="module")
def watches(runs):
    from flows.watches import crisis_watch, daily_digest, file_drop_import, sla_watch, weekly_report

    drop = runs["tmp"] / "drop"
    drop.mkdir()
    (drop / "comments.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _batch()), encoding="utf-8"
    )
    out: dict = {}
    for name in ("duck", "pg"):
        cfg, env, slack = str(runs[f"{name}_cfg"]), runs[f"{name}_env"], runs[f"{name}_slack"]
        with environment(env):
            out[f"{name}_import"] = file_drop_import(config_path=cfg, bundle_dir=str(drop))
        for call in (1, 2):
            before = len(slack.posts())
            with environment(env):
                sla_watch(config_path=cfg, as_of=WATCH_AT)
                out[f"{name}_sla_{call}"] = _messages(slack)[before:]
                before = len(slack.posts())
                crisis_watch(config_path=cfg, as_of=WATCH_AT)
                out[f"{name}_crisis_{call}"] = _messages(slack)[before:]
                before = len(slack.posts())
                daily_digest(config_path=cfg, day=DIGEST_DAY)
                out[f"{name}_digest_{call}"] = _messages(slack)[before:]
                before = len(slack.posts())
                out[f"{name}_weekly_md_{call}"] = weekly_report(config_path=cfg, as_of=WATCH_AT)
                out[f"{name}_weekly_{call}"] = _messages(slack)[before:]
    return out


def test_the_batch_lands_on_both(watches):
    duck, pg = watches["duck_import"], watches["pg_import"]
    assert (duck.errors, pg.errors) == ([], [])
    assert duck.entities["comments"].landed == pg.entities["comments"].landed == 19


@pytest.mark.parametrize("watch", ["sla", "crisis", "digest", "weekly"])
def test_each_watch_posts_the_same_on_both(watches, watch):
    duck, pg = watches[f"duck_{watch}_1"], watches[f"pg_{watch}_1"]
    assert sorted(pg) == sorted(duck)


@pytest.mark.parametrize("watch", ["sla", "crisis", "digest", "weekly"])
def test_a_second_call_posts_nothing_new(watches, watch):
    assert watches[f"duck_{watch}_2"] == []
    assert watches[f"pg_{watch}_2"] == []


def test_the_weekly_markdown_is_the_same(watches):
    assert watches["duck_weekly_md_1"].startswith("#")
    assert watches["pg_weekly_md_1"] == watches["duck_weekly_md_1"]
    assert watches["pg_weekly_md_2"] == watches["duck_weekly_md_2"] == watches["duck_weekly_md_1"]


def test_the_watches_post_something_to_compare(watches):
    # the comparisons above mean something only if the watches post: the SLA watch a breach of the
    # sample's last complaint, the weekly report its one message. The burst joins the crisis the sample
    # already opened at 18:00 UTC (alerted by the run), so the crisis watch posts no new crisis alert.
    assert any("SLA breached" in text for _, text, _ in watches["duck_sla_1"])
    assert [channel for channel, _, _ in watches["duck_weekly_1"]] == ["#community"]
    assert "the week of Mon 10 Mar" in watches["duck_weekly_1"][0][1]
