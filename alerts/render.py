"""Alerts as Slack Block Kit messages (with a plain-text fallback) and as console text.

Everything an alert carries is treated as untrusted: titles and facts can contain member names, and
member words are whatever a member typed. In mrkdwn every `&`, `<`, `>` is escaped, so `<!channel>`,
`<@U123>` or `<http://evil|click>` show as text and ping or link nobody. The only markup Tertulia adds
itself is the owner mention, built from a validated Slack user id, and link buttons whose URL is checked.

Slack rejects messages over its limits; we cut instead (with an ellipsis) so an alert is never lost
to a long comment.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from alerts.model import Alert

HEADER_MAX = 150
SECTION_MAX = 3000
FIELD_MAX = 2000
FIELDS_MAX = 10
BLOCKS_MAX = 50
BUTTON_TEXT_MAX = 75
URL_MAX = 3000
BUTTONS_MAX = 5
TEXT_MAX = 3000  # Slack accepts more in `text`, but a notification longer than this helps nobody
QUOTES_MAX = 5
ELLIPSIS = "…"

SEVERITY_EMOJI = {"critical": "🔴", "warning": "🟠", "info": "🔵"}
RESOLVED_EMOJI = "✅"
KIND_LABEL = {
    "crisis": "Crisis",
    "sla": "SLA",
    "data_quality": "Data quality",
    "digest": "Digest",
    "pipeline": "Pipeline",
}

_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")
# Terminal control characters (ANSI escapes and the like) in member text must not reach a console.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


def escape_mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut to `limit` characters with an ellipsis; never leaves half an `&amp;` entity behind."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    cut = _PARTIAL_ENTITY.sub("", cut)
    return cut + ELLIPSIS


def safe_url(url: str) -> str | None:
    """Only absolute http(s) URLs without spaces or Slack markup characters become buttons."""
    if not url or len(url) > URL_MAX or any(c in url for c in " <>|\n\r\t\"'"):
        return None
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return None
    return url


def slack_mention(user_id: str | None) -> str | None:
    if user_id and _SLACK_USER_ID.match(user_id):
        return f"<@{user_id}>"
    return None


def console_safe(text: str) -> str:
    return _CONTROL.sub("", text)


def _when(alert: Alert, tz: ZoneInfo) -> str | None:
    if alert.occurred_at is None:
        return None
    ts = alert.occurred_at
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.UTC)
    return f"{ts.astimezone(tz):%Y-%m-%d %H:%M} ({tz.key})"


def header_text(alert: Alert, *, resolved: bool = False) -> str:
    emoji = RESOLVED_EMOJI if resolved or alert.resolves else SEVERITY_EMOJI.get(alert.severity, "")
    prefix = "Resolved · " if resolved else ""
    return truncate(f"{emoji} {prefix}{KIND_LABEL.get(alert.kind, alert.kind)} · {alert.title}", HEADER_MAX)


def _quote(text: str) -> str:
    lines = escape_mrkdwn(text).splitlines() or [""]
    return "\n".join(f"> {line}" for line in lines)


def render_message(
    alert: Alert,
    *,
    tz: ZoneInfo,
    owner_mention: str | None = None,
    owner_name: str | None = None,
    resolved_note: str | None = None,
    possible_repeat: bool = False,
) -> Message:
    """Block Kit message and its plain `text` fallback. `resolved_note` renders the root of a resolved thread."""
    resolved = resolved_note is not None
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": header_text(alert, resolved=resolved), "emoji": True},
        }
    ]
    if resolved_note:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": truncate(escape_mrkdwn(resolved_note), SECTION_MAX)},
            }
        )
    if alert.facts:
        shown = list(alert.facts)
        if len(shown) > FIELDS_MAX:
            hidden = len(shown) - (FIELDS_MAX - 1)
            shown = shown[: FIELDS_MAX - 1] + [("More", f"{hidden} more facts not shown")]
        fields = [
            {
                "type": "mrkdwn",
                "text": truncate(f"*{escape_mrkdwn(label)}*\n{escape_mrkdwn(value)}", FIELD_MAX),
            }
            for label, value in shown
        ]
        blocks.append({"type": "section", "fields": fields})
    if alert.extra.get("list"):
        items = [f"• {escape_mrkdwn(line)}" for line in alert.extra["list"].splitlines() if line.strip()]
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate("\n".join(items), SECTION_MAX)}}
        )
    for text in alert.member_text[:QUOTES_MAX]:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(_quote(text), SECTION_MAX)}}
        )
    if len(alert.member_text) > QUOTES_MAX:
        more = len(alert.member_text) - QUOTES_MAX
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {more} more comments"}]}
        )
    if owner_mention or owner_name:
        who = owner_mention or escape_mrkdwn(owner_name or "")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"Owner: {who}"}})
    context = []
    when = _when(alert, tz)
    if when:
        context.append(f"When: {when}")
    if alert.reason:
        context.append(f"Why: {escape_mrkdwn(alert.reason)}")
    if possible_repeat:
        context.append("Sent again after an interrupted delivery: this may repeat an earlier message")
    if context:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": truncate(" · ".join(context), SECTION_MAX)}],
            }
        )
    buttons = []
    for link in alert.links:
        url = safe_url(link.url)
        if url is None:
            continue
        buttons.append(
            {
                "type": "button",
                "text": {"type": "plain_text", "text": truncate(link.label or "Open", BUTTON_TEXT_MAX)},
                "url": url,
            }
        )
    if buttons:
        blocks.append({"type": "actions", "elements": buttons[:BUTTONS_MAX]})
    if len(blocks) > BLOCKS_MAX:
        blocks = blocks[: BLOCKS_MAX - 1] + [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "…message shortened to fit Slack"}]}
        ]
    return Message(text=fallback_text(alert, owner_mention=owner_mention, resolved=resolved), blocks=blocks)


def fallback_text(alert: Alert, *, owner_mention: str | None = None, resolved: bool = False) -> str:
    """The notification / screen-reader text: header, facts and the first member words, escaped."""
    emoji = RESOLVED_EMOJI if resolved or alert.resolves else SEVERITY_EMOJI.get(alert.severity, "")
    prefix = "Resolved: " if resolved else ""
    parts = [f"{emoji} {prefix}{KIND_LABEL.get(alert.kind, alert.kind)}: {escape_mrkdwn(alert.title)}"]
    if alert.facts:
        parts.append(
            "; ".join(f"{escape_mrkdwn(label)}: {escape_mrkdwn(value)}" for label, value in alert.facts)
        )
    if alert.member_text:
        parts.append(f"“{escape_mrkdwn(alert.member_text[0])}”")
    if owner_mention:
        parts.append(f"Owner: {owner_mention}")
    return truncate("\n".join(parts), TEXT_MAX)


def render_console(alert: Alert, *, tz: ZoneInfo, channel: str | None, owner_name: str | None = None) -> str:
    """The same alert as readable console text (the demo's output). No Slack escaping; control chars removed."""
    sev = alert.severity.upper()
    lines = [
        f"[{sev}] {KIND_LABEL.get(alert.kind, alert.kind)} · {console_safe(alert.title)}"
        + (f"   → {channel}" if channel else "")
    ]
    for label, value in alert.facts:
        lines.append(f"    {console_safe(label)}: {console_safe(value)}")
    for line in (alert.extra.get("list") or "").splitlines():
        lines.append(f"    • {console_safe(line)}")
    for text in alert.member_text[:QUOTES_MAX]:
        for line in console_safe(truncate(text, 500)).splitlines() or [""]:
            lines.append(f"    > {line}")
    if owner_name:
        lines.append(f"    owner: {console_safe(owner_name)}")
    when = _when(alert, tz)
    context = [f"when {when}" if when else "", f"why: {console_safe(alert.reason)}" if alert.reason else ""]
    if any(context):
        lines.append("    " + " · ".join(c for c in context if c))
    for link in alert.links:
        url = safe_url(link.url)
        if url:
            lines.append(f"    {console_safe(link.label)}: {url}")
    if alert.extra.get("chart_path"):
        lines.append(f"    chart: {alert.extra['chart_path']}")
    return "\n".join(lines)
