"""The Prefect watches on a PostgreSQL warehouse post what they post on DuckDB, each once.

After the sample's runs on both warehouses (the session's `runs` fixture, test_run_on_postgres.py), a
second small batch lands on each through the `file_drop_import` flow: one unanswered complaint on a new
thread and a burst of complaints on one post within the hour (it joins the crisis the sample opened). Then, at the same pinned instant on both,
`sla_watch`, `crisis_watch`, `daily_digest` and `weekly_report` run twice: the Slack posts of each watch
(text, channel, thread root) are the same on both warehouses, the second call posts nothing new, and
the weekly report's Markdown is the same.

A second stage (`new_crisis`) makes a crisis no earlier run alerted: a burst of fifteen complaints on
a new Facebook post two days after the sample ends, on the other side of the community from the
sample's Instagram crisis. It lands through `file_drop_import` on both warehouses; then `crisis_watch`
itself posts the crisis's first alert, the same on both, once, saying what happened in words a person
reads: the account's handle, the counts, the post, the local time with its zone.
"""

from __future__ import annotations

import json
from pathlib import Path

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


def write_drop(folder: Path, **rows: list[dict]) -> Path:
    """A bundle folder of one `<entity>.jsonl` per keyword argument (what a team drops for file_drop_import)."""
    folder.mkdir()
    for entity, records in rows.items():
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        (folder / f"{entity}.jsonl").write_text(text, encoding="utf-8")
    return folder


def _batch() -> list[dict]:
    first = "¿Alguien me ayuda? Mi pedido no llegó 😡"
    rows = [_comment(1, "2025-03-20T15:05:00-05:00", first, "ig-p00099")]
    # a burst on one post: eighteen complaints in forty minutes
    for i in range(18):
        created = f"2025-03-20T15:{10 + 2 * i:02d}:00-05:00"
        text = "el café llegó rancio, qué vergüenza, devuélvanme el dinero 😡"
        rows.append(_comment(10 + i, created, text, "ig-p00099"))
    return rows


def _land_and_watch(runs, drop: Path, watches: dict) -> dict:
    """On each warehouse: `drop` through file_drop_import, then each of `watches` (a label and a call
    taking the config path) twice at its pinned instant. Each call's Slack posts are under
    `<warehouse>_<label>_<call>`, what it returned under `<warehouse>_<label>_returned_<call>`."""
    from flows.watches import file_drop_import

    out: dict = {}
    for name in ("duck", "pg"):
        cfg, env, slack = str(runs[f"{name}_cfg"]), runs[f"{name}_env"], runs[f"{name}_slack"]
        with environment(env):
            out[f"{name}_import"] = file_drop_import(config_path=cfg, bundle_dir=str(drop))
            for call in (1, 2):
                for label, watch in watches.items():
                    before = len(slack.posts())
                    out[f"{name}_{label}_returned_{call}"] = watch(cfg)
                    out[f"{name}_{label}_{call}"] = _messages(slack)[before:]
    return out


@pytest.fixture(scope="module")
def watches(runs):
    from flows.watches import crisis_watch, daily_digest, sla_watch, weekly_report

    drop = write_drop(runs["tmp"] / "drop", comments=_batch())
    return _land_and_watch(
        runs,
        drop,
        {
            "sla": lambda cfg: sla_watch(config_path=cfg, as_of=WATCH_AT),
            "crisis": lambda cfg: crisis_watch(config_path=cfg, as_of=WATCH_AT),
            "digest": lambda cfg: daily_digest(config_path=cfg, day=DIGEST_DAY),
            "weekly": lambda cfg: weekly_report(config_path=cfg, as_of=WATCH_AT),
        },
    )


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
    assert watches["duck_weekly_returned_1"].startswith("#")
    assert watches["pg_weekly_returned_1"] == watches["duck_weekly_returned_1"]
    assert (
        watches["pg_weekly_returned_2"]
        == watches["duck_weekly_returned_2"]
        == watches["duck_weekly_returned_1"]
    )


def test_the_watches_post_something_to_compare(watches):
    # the comparisons above mean something only if the watches post: the SLA watch a breach of the
    # sample's last complaint, the weekly report its one message. The burst joins the crisis the sample
    # already opened at 18:00 UTC (alerted by the run), so the crisis watch posts no new crisis alert.
    assert any("SLA breached" in text for _, text, _ in watches["duck_sla_1"])
    assert [channel for channel, _, _ in watches["duck_weekly_1"]] == ["#community"]
    assert "the week of Mon 10 Mar" in watches["duck_weekly_1"][0][1]


# --- a crisis crisis_watch alerts first --------------------------------------------------------------

# 36 hours after the sample's last message (20:00 UTC on the 20th), the small hours of a Saturday in
# Quito (-05:00, no DST): the 24-hour window of the negative share and the 3-hour window of the post
# and keyword signals hold the burst and nothing else, and the crisis starts 33 hours after the
# Instagram one ended (18:00 local on the 20th), far beyond cooldown_hours: a crisis of its own, on
# another account.
CRISIS_POST = "fb-p09001"
CRISIS_TEXTS = (  # each scored negative by the lexicon; three carry one crisis keyword each
    "Esto es una estafa, el paquete llegó roto y nadie responde 😡",
    "Quiero mi reembolso ya, pésimo servicio, qué vergüenza",
    "Fraude total, me cobraron dos veces y no contestan 😡",
    "Horrible atención, el pedido nunca llegó, estoy furioso",
    "Pésimo, me cobraron de más y nadie me responde 😡",
)
CRISIS_WATCH_AT = "2025-03-22T09:30:00"


def _crisis_batch() -> tuple[dict, list[dict]]:
    post = {
        "platform": "facebook",
        "post_id": CRISIS_POST,
        "account_id": "fb-cafetertulia",
        "published_at": "2025-03-21T20:00:00-05:00",
        "message": "Nuevo tueste de temporada",
        "content_type": "photo",
        "permalink": f"https://www.facebook.com/CafeTertuliaQuito/posts/{CRISIS_POST}",
        "campaign": None,
    }
    comments = []
    for i in range(15):  # 03:05, 03:08, ... 03:47 local = 08:05 ... 08:47 UTC, one UTC hour
        created = f"2025-03-22T03:{5 + 3 * i:02d}:00-05:00"
        row = _comment(100 + i, created, CRISIS_TEXTS[i % len(CRISIS_TEXTS)], CRISIS_POST)
        comments.append(
            {
                **row,
                "platform": "facebook",
                "comment_id": f"fb-w{100 + i:05d}",
                "thread_id": f"fb-w{100 + i:05d}",
                "author_id": f"10009{100 + i}",
                "source_app": "Facebook for Android",
            }
        )
    return post, comments


@pytest.fixture(scope="module")
def new_crisis(runs, watches):
    """After the first stage (`watches`: its as_of is earlier), the crisis batch and crisis_watch twice."""
    from flows.watches import crisis_watch

    post, comments = _crisis_batch()
    drop = write_drop(runs["tmp"] / "drop-crisis", posts=[post], comments=comments)
    return _land_and_watch(
        runs, drop, {"crisis": lambda cfg: crisis_watch(config_path=cfg, as_of=CRISIS_WATCH_AT)}
    )


def _crisis_roots(posts: list[tuple[str, str, str | None]]) -> list[tuple[str, str]]:
    """(channel, text) of the root crisis alerts among `posts` (not thread replies)."""
    return [(ch, text) for ch, text, root in posts if root is None and "Possible crisis on" in text]


def test_the_crisis_batch_lands_on_both(new_crisis):
    duck, pg = new_crisis["duck_import"], new_crisis["pg_import"]
    assert (duck.errors, pg.errors) == ([], [])
    assert duck.entities["comments"].landed == pg.entities["comments"].landed == 15
    assert duck.entities["posts"].landed == pg.entities["posts"].landed == 1


def test_crisis_watch_posts_the_new_crisis_the_same_on_both(new_crisis):
    assert sorted(new_crisis["pg_crisis_1"]) == sorted(new_crisis["duck_crisis_1"])
    duck_roots, pg_roots = (
        _crisis_roots(new_crisis["duck_crisis_1"]),
        _crisis_roots(new_crisis["pg_crisis_1"]),
    )
    assert pg_roots == duck_roots
    assert len(duck_roots) == 1  # the new crisis, once; the sample's crises were alerted by the runs


def test_a_second_crisis_watch_posts_nothing(new_crisis):
    assert new_crisis["duck_crisis_2"] == []
    assert new_crisis["pg_crisis_2"] == []


def test_the_new_crisis_alert_reads_as_written_by_hand(new_crisis):
    [(channel, text)] = _crisis_roots(new_crisis["pg_crisis_1"])
    # four signals in its first hour, 08:00 UTC: critical, which community.example.yml routes to
    # #comms-leads (channel_overrides) instead of #comms
    assert channel == "#comms-leads"
    title, facts = text.splitlines()[:2]
    assert title.endswith(
        "Crisis: Possible crisis on facebook CafeTertuliaQuito: "
        "crisis keywords, negative share, post turning negative, volume spike"
    )
    # counted by hand from _crisis_batch: fifteen comments between 08:05 and 08:47 UTC, all negative,
    # all on one post; three texts of the five carry a keyword (3 x 3 = 9); no other message of that
    # account in its 24 hours
    for fact in (
        "Account: facebook CafeTertuliaQuito",
        "Crisis keywords: 9 messages with crisis keywords in 3 h",
        "Negative share: 100% negative over 24 h",
        "Post turning negative: 15 negative comments on one post in 3 h",
        "Volume spike: 15 messages in 60 minutes",
        "Messages: 15 inbound, 15 negative",
        "Keywords: estafa, fraude, reembolso",
        f"Posts: facebook:{CRISIS_POST}",
        # the first hour, 08:00 UTC, in the community's time with its zone
        "Started: 2025-03-22 03:00 (America/Guayaquil)",
    ):
        assert any(f.startswith(fact) for f in facts.split("; ")), (fact, facts)
    assert "fb-cafetertulia" not in text  # the account's handle, not its id
    # the most negative of the member texts (the lexicon scores it lowest)
    assert f"“{CRISIS_TEXTS[0]}”" in text
