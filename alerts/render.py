"""Alerts as Slack Block Kit messages (with a plain-text fallback) and as console text.

Everything an alert carries is treated as untrusted: titles and facts can contain member names, and
member words are whatever a member typed. In mrkdwn every `&`, `<`, `>` is escaped, so `<!channel>`,
`<@U123>` or `<http://evil|click>` show as text and ping or link nobody. The only markup Tertulia adds
itself is the owner mention, built from a validated Slack user id, and link buttons whose URL is checked
(a platform's link only on that platform's own hosts). Invisible and bidi-control characters are removed
from everything sent or printed.

Slack rejects messages over its limits; we cut instead (with an ellipsis, in `fit_blocks`) so an alert
is never lost to a long comment or name. Every time shown is the community's (`local_time`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from alerts.model import Alert, Link
from tertulia.clock import local_label

if TYPE_CHECKING:
    from tertulia.config import Config

# Slack's documented Block Kit limits (docs.slack.dev/reference/block-kit: header, section, context,
# actions blocks; button element; text object). Over any of them Slack refuses the whole message
# (`invalid_blocks`); `fit_blocks` applies them all in one place.
HEADER_MAX = 150
SECTION_MAX = 3000
FIELD_MAX = 2000
FIELDS_MAX = 10
CONTEXT_ELEMENTS_MAX = 10
CONTEXT_TEXT_MAX = 3000  # a text object holds at most 3,000 characters
BLOCKS_MAX = 50
BUTTON_TEXT_MAX = 75
URL_MAX = 3000
BUTTONS_MAX = 5  # Slack allows 25 elements in an actions block; more than 5 buttons helps nobody
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
    "trend": "Trend",
    "pipeline": "Pipeline",
}

# Where each platform's own pages live (the host or any subdomain of it: www., m., old.). A link taken
# from data about a platform becomes a button only when it points there, so a post whose permalink
# field holds another site cannot put that site behind "Open the conversation". Self-hosted platforms
# have no fixed host: their configured server (`sources:`) is added by `platform_hosts`.
PLATFORM_HOSTS: dict[str, tuple[str, ...]] = {
    "instagram": ("instagram.com",),
    "facebook": ("facebook.com", "fb.com", "fb.watch"),
    "youtube": ("youtube.com", "youtu.be"),
    "tiktok": ("tiktok.com",),
    "x": ("x.com", "twitter.com"),
    "linkedin": ("linkedin.com", "lnkd.in"),
    "reddit": ("reddit.com", "redd.it"),
    "google_business": ("g.page", "business.google.com", "maps.google.com", "www.google.com"),
    "discourse": (),
    "mastodon": (),
}
# The `sources.<name>` key holding a self-hosted platform's address when `base_url` is not set (the
# connectors read the same keys: connectors/discourse.py, connectors/mastodon.py).
SITE_URL_KEYS = {"discourse": "forum_url", "mastodon": "instance_url"}

_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")
# Terminal control characters (ANSI escapes and the like) in member text must not reach a console.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Invisible characters that make text read differently from what it is (spoofing a name, hiding a word
# from a keyword match, reversing "gpj.exe"): zero-width space/joiners and the LRM/RLM/ALM marks,
# word joiner and invisible operators, the byte-order mark, bidi embeddings/overrides and isolates.
# Removed, not escaped: none of them is visible, and right-to-left scripts display correctly without
# them. The price: an emoji sequence joined by U+200D shows as its separate emoji.
_INVISIBLE = re.compile("[\u200b-\u200f\u061c\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


def escape_mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def neutralise(text: str) -> str:
    """`text` without the invisible and bidi-control characters listed in `_INVISIBLE`."""
    return _INVISIBLE.sub("", text)


def truncate(text: str, limit: int) -> str:
    """Cut to `limit` characters with an ellipsis; never leaves half an `&amp;` entity behind."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    cut = _PARTIAL_ENTITY.sub("", cut)
    return cut + ELLIPSIS


def fit(text: str, limit: int) -> str:
    """Text as it may reach Slack: spoofing characters removed, cut to `limit`, never empty (Slack refuses that)."""
    return truncate(neutralise(text), limit) or ELLIPSIS


def _fit_text(obj: dict[str, Any], limit: int) -> dict[str, Any]:
    return {**obj, "text": fit(str(obj.get("text") or ""), limit)}


def fit_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every text of every block cut to Slack's limit for its place, and every count to its maximum.

    Builders put text in; this is the one place where Slack's limits are kept, so a long owner name,
    title or comment shortens its own text instead of making Slack refuse the message.
    """
    out: list[dict[str, Any]] = []
    for block in blocks:
        b = dict(block)
        kind = b.get("type")
        if kind == "header":
            b["text"] = _fit_text(b["text"], HEADER_MAX)
        elif kind == "section":
            if "text" in b:
                b["text"] = _fit_text(b["text"], SECTION_MAX)
            if "fields" in b:
                b["fields"] = [_fit_text(f, FIELD_MAX) for f in b["fields"][:FIELDS_MAX]]
        elif kind == "context":
            b["elements"] = [_fit_text(e, CONTEXT_TEXT_MAX) for e in b["elements"][:CONTEXT_ELEMENTS_MAX]]
        elif kind == "actions":
            b["elements"] = [
                {**e, "text": _fit_text(e["text"], BUTTON_TEXT_MAX)} for e in b["elements"][:BUTTONS_MAX]
            ]
        else:
            raise ValueError(f"fit_blocks: no Slack limits known for block type {kind!r}; add them here")
        out.append(b)
    if len(out) > BLOCKS_MAX:
        out = out[: BLOCKS_MAX - 1] + [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "…message shortened to fit Slack"}]}
        ]
    return out


def safe_url(url: str) -> str | None:
    """Only absolute http(s) URLs without spaces, backslashes or Slack markup characters become buttons."""
    if not url or len(url) > URL_MAX or any(c in url for c in " <>|\n\r\t\"'\\") or _INVISIBLE.search(url):
        return None
    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return None
    return url


def platform_hosts(config: Config) -> dict[str, tuple[str, ...]]:
    """PLATFORM_HOSTS plus the configured servers of self-hosted platforms (Discourse, Mastodon)."""
    hosts = {p: list(h) for p, h in PLATFORM_HOSTS.items()}
    for source in config.sources.values():
        if source.platform not in SITE_URL_KEYS:
            continue
        site = source.base_url or (source.model_extra or {}).get(SITE_URL_KEYS[source.platform])
        host = urlparse(str(site or "")).hostname
        if host:
            hosts.setdefault(source.platform, []).append(host)
    return {p: tuple(h) for p, h in hosts.items()}


def button_url(link: Link, hosts: Mapping[str, Iterable[str]]) -> str | None:
    """The link's URL when it may be a button: http(s), and for a platform's link on that platform's hosts."""
    url = safe_url(link.url)
    if url is None or link.platform is None:
        return url
    parsed = urlparse(url)
    if parsed.username is not None or parsed.password is not None:
        return None  # "https://instagram.com@evil.example" reads as instagram and opens evil.example
    host = parsed.hostname or ""
    if any(host == h or host.endswith("." + h) for h in hosts.get(link.platform, ())):
        return url
    return None


def _left_out(links: Iterable[Link], hosts: Mapping[str, Iterable[str]]) -> str | None:
    """The context note for platform links that were not made buttons (the URL itself is never shown)."""
    dropped = [link for link in links if link.platform is not None and button_url(link, hosts) is None]
    if not dropped:
        return None
    platforms = ", ".join(sorted({link.platform or "an unknown platform" for link in dropped}))
    n = len(dropped)
    return f"{n} link{'s' if n > 1 else ''} left out: not an address of {platforms}"


def slack_mention(user_id: str | None) -> str | None:
    if user_id and _SLACK_USER_ID.match(user_id):
        return f"<@{user_id}>"
    return None


def console_safe(text: str) -> str:
    return neutralise(_CONTROL.sub("", text))


def local_time(ts: dt.datetime, tz: ZoneInfo) -> str:
    """'2026-11-27 13:02 (America/Guayaquil)': how every instant in an alert is shown. Naive means UTC."""
    return local_label(ts, tz)


def _when(alert: Alert, tz: ZoneInfo) -> str | None:
    return local_time(alert.occurred_at, tz) if alert.occurred_at is not None else None


def owner_text(mention: str | None, name: str | None) -> str | None:
    """The one owner line of a message, in mrkdwn: the Slack mention (Slack shows the person's name),
    else the team member's name, escaped."""
    if mention:
        return f"Owner: {mention}"
    if name:
        return f"Owner: {escape_mrkdwn(name)}"
    return None


def header_text(alert: Alert, *, resolved: bool = False, reopened: bool = False) -> str:
    emoji = RESOLVED_EMOJI if resolved or alert.resolves else SEVERITY_EMOJI.get(alert.severity, "")
    prefix = "Resolved · " if resolved else "Re-opened · " if reopened else ""
    return f"{emoji} {prefix}{KIND_LABEL.get(alert.kind, alert.kind)} · {alert.title}"


def _quote(text: str) -> str:
    lines = escape_mrkdwn(text).splitlines() or [""]
    return "\n".join(f"> {line}" for line in lines)


def _mrkdwn_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def render_message(
    alert: Alert,
    *,
    tz: ZoneInfo,
    owner_mention: str | None = None,
    owner_name: str | None = None,
    resolved_note: str | None = None,
    reopened_note: str | None = None,
    possible_repeat: bool = False,
    link_hosts: Mapping[str, Iterable[str]] = PLATFORM_HOSTS,
) -> Message:
    """Block Kit message and its plain `text` fallback. `resolved_note` renders the root of a resolved thread,
    `reopened_note` the root of one whose incident came back after it was resolved.

    `link_hosts` is where each platform's links may point (`platform_hosts(config)`); the default knows
    no self-hosted server, so a Discourse or Mastodon link is left out unless the caller passes them.
    """
    resolved = resolved_note is not None
    reopened = reopened_note is not None and not resolved
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": header_text(alert, resolved=resolved, reopened=reopened),
                "emoji": True,
            },
        }
    ]
    if resolved_note or reopened_note:
        blocks.append(_mrkdwn_section(escape_mrkdwn(resolved_note or reopened_note or "")))
    if alert.facts:
        shown = list(alert.facts)
        if len(shown) > FIELDS_MAX:
            hidden = len(shown) - (FIELDS_MAX - 1)
            shown = shown[: FIELDS_MAX - 1] + [("More", f"{hidden} more facts not shown")]
        fields = [
            {"type": "mrkdwn", "text": f"*{escape_mrkdwn(label)}*\n{escape_mrkdwn(value)}"}
            for label, value in shown
        ]
        blocks.append({"type": "section", "fields": fields})
    if alert.extra.get("list"):
        items = [f"• {escape_mrkdwn(line)}" for line in alert.extra["list"].splitlines() if line.strip()]
        blocks.append(_mrkdwn_section("\n".join(items)))
    for text in alert.member_text[:QUOTES_MAX]:
        blocks.append(_mrkdwn_section(_quote(text)))
    if len(alert.member_text) > QUOTES_MAX:
        more = len(alert.member_text) - QUOTES_MAX
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {more} more comments"}]}
        )
    owner = owner_text(owner_mention, owner_name)
    if owner:
        blocks.append(_mrkdwn_section(owner))
    context = []
    when = _when(alert, tz)
    if when:
        context.append(f"When: {when}")
    if alert.reason:
        context.append(f"Why: {escape_mrkdwn(alert.reason)}")
    left_out = _left_out(alert.links, link_hosts)
    if left_out:
        context.append(escape_mrkdwn(left_out))
    if possible_repeat:
        context.append("Sent again after an interrupted delivery: this may repeat an earlier message")
    if context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]})
    buttons = []
    for link in alert.links:
        url = button_url(link, link_hosts)
        if url is None:
            continue
        buttons.append(
            {"type": "button", "text": {"type": "plain_text", "text": link.label or "Open"}, "url": url}
        )
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    text = fallback_text(alert, owner_mention=owner_mention, resolved=resolved, reopened=reopened)
    return Message(text=text, blocks=fit_blocks(blocks))


def fallback_text(
    alert: Alert, *, owner_mention: str | None = None, resolved: bool = False, reopened: bool = False
) -> str:
    """The notification / screen-reader text: header, facts and the first member words, escaped."""
    emoji = RESOLVED_EMOJI if resolved or alert.resolves else SEVERITY_EMOJI.get(alert.severity, "")
    prefix = "Resolved: " if resolved else "Re-opened: " if reopened else ""
    parts = [f"{emoji} {prefix}{KIND_LABEL.get(alert.kind, alert.kind)}: {escape_mrkdwn(alert.title)}"]
    if alert.facts:
        parts.append(
            "; ".join(f"{escape_mrkdwn(label)}: {escape_mrkdwn(value)}" for label, value in alert.facts)
        )
    if alert.member_text:
        parts.append(f"“{escape_mrkdwn(alert.member_text[0])}”")
    owner = owner_text(owner_mention, None)
    if not owner:
        return fit("\n".join(parts), TEXT_MAX)
    # The mention goes last and whole: a cut through "<@U0ANA>" would leave broken markup.
    return fit("\n".join(parts), TEXT_MAX - len(owner) - 1) + "\n" + owner


def render_console(
    alert: Alert,
    *,
    tz: ZoneInfo,
    channel: str | None,
    owner_name: str | None = None,
    link_hosts: Mapping[str, Iterable[str]] = PLATFORM_HOSTS,
) -> str:
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
        lines.append(f"    Owner: {console_safe(owner_name)}")
    when = _when(alert, tz)
    context = [f"when {when}" if when else "", f"why: {console_safe(alert.reason)}" if alert.reason else ""]
    if any(context):
        lines.append("    " + " · ".join(c for c in context if c))
    for link in alert.links:
        url = button_url(link, link_hosts)
        if url:
            lines.append(f"    {console_safe(link.label)}: {url}")
    left_out = _left_out(alert.links, link_hosts)
    if left_out:
        lines.append(f"    ({console_safe(left_out)})")
    if alert.extra.get("chart_path"):
        lines.append(f"    chart: {alert.extra['chart_path']}")
    return "\n".join(lines)
