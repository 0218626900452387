"""Block Kit rendering: untrusted text escaped, Slack's limits kept by cutting, owner mentions, console text."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from alerts_harness import DAYTIME, Sleeps, alert, team_table

from alerts.delivery import deliver_pending
from alerts.model import Link
from alerts.outbox import enqueue
from alerts.render import escape_mrkdwn, render_console, render_message, safe_url, truncate

TZ = ZoneInfo("America/Guayaquil")


def mrkdwn_texts(blocks):
    """Every string Slack parses as mrkdwn (mentions and links live only there)."""
    out = []
    for b in blocks:
        for obj in [b.get("text")] + list(b.get("fields") or []) + list(b.get("elements") or []):
            if isinstance(obj, dict) and obj.get("type") == "mrkdwn":
                out.append(obj["text"])
    return out


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<!channel> refund now", "&lt;!channel&gt; refund now"),
        ("hola <@U123>", "hola &lt;@U123&gt;"),
        ("<http://evil.example|click> here", "&lt;http://evil.example|click&gt; here"),
        ("R&D <3", "R&amp;D &lt;3"),
    ],
)
def test_injection_strings_are_escaped_everywhere_slack_parses_markup(raw, escaped):
    a = alert("x", title=f"Comment by {raw}", facts=((raw, raw),), member_text=(raw,), reason=raw)
    msg = render_message(a, tz=TZ)
    texts = mrkdwn_texts(msg.blocks) + [msg.text]
    assert all(raw not in t for t in texts)
    assert f"> {escaped}" in texts  # the member's words, quoted
    assert f"*{escaped}*\n{escaped}" in texts  # the fact field
    assert escaped in msg.text
    # The header is plain_text, which Slack shows literally (no mentions, no links).
    assert msg.blocks[0]["text"]["type"] == "plain_text"


def test_escape_is_exact():
    assert escape_mrkdwn("a & b < c > d &amp;") == "a &amp; b &lt; c &gt; d &amp;amp;"


def test_over_long_text_is_cut_with_an_ellipsis_never_rejected():
    a = alert(
        "x",
        title="T" * 400,
        member_text=("m" * 10_000,),
        facts=tuple((f"f{i}", "v" * 3000) for i in range(15)),
        links=tuple(Link(f"L{i}" * 50, f"https://example.com/{i}") for i in range(8)),
    )
    msg = render_message(a, tz=TZ)
    header = msg.blocks[0]["text"]["text"]
    assert len(header) == 150 and header.endswith("…")
    quote = next(b for b in msg.blocks if b.get("text", {}).get("text", "").startswith("> "))
    assert len(quote["text"]["text"]) == 3000 and quote["text"]["text"].endswith("…")
    fields = next(b for b in msg.blocks if "fields" in b)["fields"]
    assert len(fields) == 10 and fields[-1]["text"] == "*More*\n6 more facts not shown"
    assert all(len(f["text"]) <= 2000 for f in fields)
    buttons = next(b for b in msg.blocks if b["type"] == "actions")["elements"]
    assert len(buttons) == 5 and all(len(b["text"]["text"]) <= 75 for b in buttons)
    assert len(msg.text) <= 3000 and len(msg.blocks) <= 50


def test_many_quotes_stay_within_fifty_blocks():
    a = alert("x", member_text=tuple(f"c{i}" for i in range(80)))
    msg = render_message(a, tz=TZ)
    assert len(msg.blocks) <= 50
    assert msg.blocks[-1]["elements"][0]["text"] == "…and 75 more comments"


def test_truncate_never_leaves_half_an_entity():
    text = escape_mrkdwn("&" * 100)  # "&amp;" * 100
    cut = truncate(text, 13)  # would end in "&amp;&amp;&a"
    assert cut == "&amp;&amp;…"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://instagram.com/p/abc", True),
        ("http://example.com/x?y=1", True),
        ("javascript:alert(1)", False),
        ("https://evil.example|click", False),
        ("https://x.example/<!channel>", False),
        ("ftp://example.com/f", False),
        ("//example.com", False),
        ("", False),
    ],
)
def test_only_http_links_become_buttons(url, ok):
    assert (safe_url(url) == url) is ok
    msg = render_message(alert("x", links=(Link("Open", url),)), tz=TZ)
    assert any(b["type"] == "actions" for b in msg.blocks) is ok


def test_context_line_says_when_in_local_time_and_why():
    a = alert("x", occurred_at=dt.datetime(2026, 11, 20, 15, 5), reason="no reply after 30 business minutes")
    ctx = render_message(a, tz=TZ).blocks[-1]
    assert ctx == {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": "When: 2026-11-20 10:05 (America/Guayaquil) · Why: no reply after 30 business minutes",
            }
        ],
    }


def test_header_has_severity_emoji_and_kind():
    assert (
        render_message(alert("x", kind="crisis", severity="critical", title="Spike"), tz=TZ).blocks[0][
            "text"
        ]["text"]
        == "🔴 Crisis · Spike"
    )
    assert (
        render_message(alert("x", title="Done", resolves=True), tz=TZ).blocks[0]["text"]["text"]
        == "✅ SLA · Done"
    )


def test_console_text_strips_terminal_control_sequences():
    text = render_console(alert("x", member_text=("\x1b[2Jgone\x07 hola",)), tz=TZ, channel="#c")
    assert "\x1b" not in text and "\x07" not in text and "> [2Jgone hola" in text


def test_owner_is_mentioned_from_the_team_table(cfg, con, slack):
    team_table(con, ("tm-ana", "Ana", "U0ANA"), ("tm-bad", "Eve <!channel>", "U1> <!channel"))
    enqueue(con, [alert("a", owner="tm-ana"), alert("b", owner="tm-bad")], now=DAYTIME)
    deliver_pending(con, cfg, now=DAYTIME, sleep=Sleeps())
    ana, bad = slack.posts()
    assert "Owner: <@U0ANA>" in mrkdwn_texts(ana["blocks"]) and ana["text"].endswith("Owner: <@U0ANA>")
    # An invalid Slack id is never turned into markup; the name is shown, escaped.
    assert "Owner: Eve &lt;!channel&gt;" in mrkdwn_texts(bad["blocks"])
    assert "<!channel>" not in json.dumps(bad["blocks"]) and "<!channel>" not in bad["text"]
