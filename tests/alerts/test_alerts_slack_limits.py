"""Slack's Block Kit limits: every text the renderer builds is cut to its place's limit, and the local Slack
server refuses over-limit blocks with `invalid_blocks` as Slack does (issue 21, item 9)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from alerts_harness import DAYTIME, Sleeps, alert, open_db, team_table, with_slack
from fakes.slack_server import VALID_TOKEN, block_errors

from alerts.delivery import deliver_pending
from alerts.model import Link
from alerts.outbox import enqueue
from alerts.render import Message, fit_blocks, render_message
from alerts.slack_client import BotSender, DeliveryError

TZ = ZoneInfo("America/Guayaquil")
LONG_NAME = "A" * 3500
LONG_COMMENT = "c" * 5000


def long_alert(key="long", **kw):
    return alert(
        key,
        title="T" * 400,
        facts=(("Account", "v" * 5000),),
        member_text=(LONG_COMMENT,),
        reason="r" * 5000,
        links=(Link("L" * 200, "https://www.instagram.com/p/1/", platform="instagram"),),
        owner="tm-long",
        **kw,
    )


def section_texts(blocks):
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]


def test_the_fake_refuses_over_limit_blocks_as_slack_does():
    assert block_errors([{"type": "section", "text": {"type": "mrkdwn", "text": "Owner: " + LONG_NAME}}]) == [
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]
    assert block_errors([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]) == [
        "must be less than 151 characters [json-pointer:/blocks/0/text/text]"
    ]
    assert block_errors([{"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}]) == [
        "must provide no more than 10 items [json-pointer:/blocks/0/elements]"
    ]
    assert block_errors(
        [
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b" * 76}}],
            }
        ]
    ) == ["must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"]
    assert block_errors([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}]) == [
        "must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]"
    ]
    assert block_errors([{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]) == [
        "must be more than 0 characters [json-pointer:/blocks/0/text/text]"
    ]


def test_an_uncut_message_is_refused_by_the_fake_with_invalid_blocks(cfg, slack):
    sender = BotSender(VALID_TOKEN, cfg, sleep=Sleeps())
    owner = [{"type": "section", "text": {"type": "mrkdwn", "text": "Owner: " + LONG_NAME}}]
    with pytest.raises(DeliveryError) as err:
        sender.post("#community-care", Message(text="x", blocks=owner))
    assert err.value.code == "invalid_blocks" and slack.posts() == []


def test_every_text_is_cut_to_its_limit():
    msg = render_message(long_alert(), tz=TZ, owner_name=LONG_NAME)
    assert block_errors(msg.blocks) == []
    header = msg.blocks[0]["text"]["text"]
    assert header == ("🟠 SLA · " + "T" * 400)[:149] + "…" and len(header) == 150
    fields = next(b for b in msg.blocks if "fields" in b)["fields"]
    assert fields == [{"type": "mrkdwn", "text": "*Account*\n" + "v" * 1989 + "…"}]
    quote, owner = section_texts(msg.blocks)
    assert quote == "> " + "c" * 2997 + "…"
    assert owner == "Owner: " + "A" * 2992 + "…"
    context = next(b for b in msg.blocks if b["type"] == "context")["elements"][0]["text"]
    assert len(context) == 3000 and context.startswith("Why: " + "r" * 10) and context.endswith("r…")
    (button,) = next(b for b in msg.blocks if b["type"] == "actions")["elements"]
    assert button["text"]["text"] == "L" * 74 + "…"
    assert len(msg.text) == 3000 and msg.text.endswith("…")
    # With a mention, the fallback keeps it whole at the end and cuts the rest before it.
    text = render_message(long_alert(), tz=TZ, owner_mention="<@U0ANA>").text
    assert len(text) == 3000 and text.endswith("…\nOwner: <@U0ANA>")


def test_a_cut_never_leaves_half_an_escaped_entity():
    # "Owner: " and 2,990 A's are 2,997 characters; the cut at 2,999 would end in "&a" of "&amp;".
    msg = render_message(alert("x"), tz=TZ, owner_name="A" * 2990 + "&&")
    (owner,) = section_texts(msg.blocks)
    assert owner == "Owner: " + "A" * 2990 + "…"


def test_fit_blocks_refuses_a_block_type_it_has_no_limits_for():
    with pytest.raises(ValueError, match="no Slack limits known for block type 'image'"):
        fit_blocks([{"type": "image", "image_url": "https://x.example/a.png"}])


@pytest.mark.parametrize("mode", ["bot", "webhook"])
def test_long_owner_name_and_comment_are_delivered_not_refused(example_config, slack, monkeypatch, mode):
    if mode == "bot":
        monkeypatch.setenv("SLACK_BOT_TOKEN", VALID_TOKEN)
    else:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.webhook_url)
    cfg = with_slack(example_config, base_url=slack.base_url)
    con = open_db(cfg)
    team_table(con, ("tm-long", LONG_NAME, None))
    enqueue(con, [long_alert("long1"), long_alert("long2", kind="crisis")], now=DAYTIME)
    report = deliver_pending(con, cfg, now=DAYTIME, sleep=Sleeps())
    assert (report.mode, report.sent, report.failed, report.problems) == (mode, 2, 0, [])
    posted = slack.posts() if mode == "bot" else slack.state.webhook_posts
    assert len(posted) == 2
    for post in posted:
        blocks = post["blocks"]
        assert block_errors(blocks) == []
        assert section_texts(blocks) == ["> " + "c" * 2997 + "…", "Owner: " + "A" * 2992 + "…"]
    con.close()
