"""Spoofing in member text and links (issue 21, item 15): invisible and bidi-control characters never reach
Slack or the console, and a link from a platform's data becomes a button only on that platform's hosts."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from alerts_harness import DAYTIME, Sleeps, alert

from alerts.delivery import deliver_pending
from alerts.model import Link
from alerts.outbox import alert_from_json, alert_to_json, enqueue
from alerts.render import PLATFORM_HOSTS, button_url, platform_hosts, render_console, render_message
from tertulia.config import parse_config

TZ = ZoneInfo("America/Guayaquil")
ZERO_WIDTH = [chr(c) for c in (*range(0x200B, 0x2010), *range(0x2060, 0x2065), 0xFEFF)]
BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]


def everything_sent(msg) -> str:
    return json.dumps(msg.blocks, ensure_ascii=False) + msg.text


@pytest.mark.parametrize("char", ZERO_WIDTH + BIDI, ids=lambda c: f"U+{ord(c):04X}")
def test_each_invisible_or_bidi_character_is_removed_everywhere(char):
    a = alert(
        "x",
        title=f"Comment by Ana{char}Paredes",
        facts=((f"Account{char}", f"cafe{char}tertulia"),),
        member_text=(f"re{char}fund",),
        reason=f"why{char}",
        links=(Link(f"Open{char}", "https://www.instagram.com/p/1/", platform="instagram"),),
    )
    msg = render_message(a, tz=TZ, owner_name=f"Ana{char}")
    assert char not in everything_sent(msg)
    assert msg.blocks[0]["text"]["text"] == "🟠 SLA · Comment by AnaParedes"
    assert "> refund" in [b["text"]["text"] for b in msg.blocks if b["type"] == "section" and "text" in b]
    console = render_console(a, tz=TZ, channel="#c", owner_name=f"Ana{char}")
    assert char not in console and "    > refund" in console and "    Owner: Ana" in console


def test_a_right_to_left_override_cannot_reverse_a_file_name():
    # "invoice" + U+202E + "fdp.exe" displays as "invoiceexe.pdf"; without the override it reads as what it is.
    msg = render_message(alert("x", member_text=("invoice\u202efdp.exe",)), tz=TZ)
    assert "> invoicefdp.exe" in everything_sent(msg)
    # Right-to-left text itself is untouched: only the invisible controls go.
    msg = render_message(alert("x", member_text=("\u2067שלום\u2069 hola",)), tz=TZ)
    assert "> שלום hola" in everything_sent(msg)


HOSTS = {**PLATFORM_HOSTS, "discourse": ("foro.cafetertulia.ec",), "mastodon": ("mastodon.social",)}


@pytest.mark.parametrize(
    ("platform", "url", "ok"),
    [
        ("instagram", "https://www.instagram.com/p/abc/", True),
        ("instagram", "https://instagram.com/p/abc", True),
        ("facebook", "https://m.facebook.com/story.php?id=1", True),
        ("facebook", "https://fb.com/123", True),
        ("youtube", "https://youtu.be/abc", True),
        ("youtube", "https://www.youtube.com/watch?v=abc", True),
        ("reddit", "https://old.reddit.com/r/cafe/comments/1/x/", True),
        ("discourse", "https://foro.cafetertulia.ec/t/pedido/12", True),
        ("mastodon", "https://mastodon.social/@cafe/1", True),
        ("instagram", "https://evil.example/p/abc", False),
        ("instagram", "https://instagram.com.evil.example/p/abc", False),
        ("instagram", "https://evilinstagram.com/p/abc", False),
        ("instagram", "https://instagram.com@evil.example/p/abc", False),  # userinfo: opens evil.example
        ("instagram", "https://evil.example\\@instagram.com/", False),  # browsers read \ as /
        ("instagram", "https://www.facebook.com/p/abc", False),  # another platform's host
        ("instagram", "https://www.instagram.com\u200b.evil.example/", False),
        ("discourse", "https://other-forum.example/t/x/1", False),
        ("mastodon", "https://evil.social/@cafe/1", False),
        ("google_business", "https://sites.google.com/view/evil", False),
        ("", "https://www.instagram.com/p/abc/", False),  # platform unknown: no host is allowed
        (None, "https://prefect.example/runs/1", True),  # a link Tertulia made itself
        (None, "javascript:alert(1)", False),
    ],
)
def test_buttons_only_point_at_the_platforms_own_hosts(platform, url, ok):
    link = Link("Open the conversation", url, platform=platform)
    assert (button_url(link, HOSTS) == url) is ok
    msg = render_message(alert("x", links=(link,)), tz=TZ, link_hosts=HOSTS)
    assert any(b["type"] == "actions" for b in msg.blocks) is ok
    if not ok and platform is not None:
        # Left out, said so, and the URL is nowhere in the message (not even as text Slack would link).
        assert url not in everything_sent(msg)
        context = next(b for b in msg.blocks if b["type"] == "context")["elements"][0]["text"]
        assert context == f"1 link left out: not an address of {platform or 'an unknown platform'}"
        console = render_console(alert("x", links=(link,)), tz=TZ, channel=None, link_hosts=HOSTS)
        assert url not in console
        assert f"(1 link left out: not an address of {platform or 'an unknown platform'})" in console


def test_self_hosted_platforms_are_allowed_only_on_their_configured_servers():
    cfg = parse_config(
        {
            "community": {"name": "x"},
            "sources": {
                "forum": {"platform": "discourse", "forum_url": "https://foro.cafetertulia.ec/"},
                "toots": {"platform": "mastodon", "base_url": "https://mastodon.social"},
                "tube": {"platform": "youtube", "base_url": "https://www.googleapis.com/youtube/v3"},
            },
        }
    )
    hosts = platform_hosts(cfg)
    assert hosts["discourse"] == ("foro.cafetertulia.ec",)
    assert hosts["mastodon"] == ("mastodon.social",)
    assert hosts["youtube"] == ("youtube.com", "youtu.be")  # an API address is not where permalinks live
    # Without configuration a Discourse link has nowhere to point: left out.
    assert render_message(
        alert("x", links=(Link("Open", "https://foro.cafetertulia.ec/t/x/1", platform="discourse"),)), tz=TZ
    ).blocks[-1]["elements"][0]["text"] == ("1 link left out: not an address of discourse")


def test_outbox_round_trip_keeps_the_platform_and_old_rows_fail_closed():
    a = alert("x", links=(Link("Open", "https://www.instagram.com/p/1/", platform="instagram"),))
    assert alert_from_json(alert_to_json(a)) == a
    due = alert("y", stale_at=dt.datetime(2026, 11, 20, 15, 20, tzinfo=dt.UTC))
    assert alert_from_json(alert_to_json(due)) == due
    old_row = json.loads(alert_to_json(a))
    del old_row["links"][0]["platform"]  # written before links named their platform
    (link,) = alert_from_json(json.dumps(old_row)).links
    assert link.platform == "" and button_url(link, PLATFORM_HOSTS) is None


def test_a_bundle_link_to_another_site_never_reaches_slack_as_a_button(cfg, con, slack):
    links = (
        Link("Open the conversation", "https://phish.example/instagram/p/1", platform="instagram"),
        Link("Post p2", "https://www.instagram.com/p/p2/", platform="instagram"),
    )
    enqueue(con, [alert("a", links=links, member_text=("mira\u200b esto\u202e",))], now=DAYTIME)
    deliver_pending(con, cfg, now=DAYTIME, sleep=Sleeps())
    (post,) = slack.posts()
    (actions,) = [b for b in post["blocks"] if b["type"] == "actions"]
    assert [e["url"] for e in actions["elements"]] == ["https://www.instagram.com/p/p2/"]
    sent = json.dumps(post["blocks"], ensure_ascii=False) + post["text"]
    assert "phish.example" not in sent and "\u200b" not in sent and "\u202e" not in sent
    assert "> mira esto" in sent
