"""The alert record every rule produces and every delivery path consumes.

Rules are pure functions from mart rows to `Alert`s: no Slack, no I/O. Delivery (outbox, Slack
client, console) is separate. Member text travels untouched in `member_text` and is escaped only at
rendering time, for the medium it is rendered to.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# The kinds and severities are core vocabulary (tertulia.vocabulary): community.yml's keys are checked
# against them on load, below this layer.
from tertulia.vocabulary import ALERT_KINDS, SEVERITIES, Kind, Severity  # noqa: F401  (re-exported)

SEVERITY_ORDER = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    # The platform whose data the URL came from (a permalink): it becomes a button only when it points at
    # that platform's own hosts (alerts.render.PLATFORM_HOSTS). None: a link Tertulia made itself, only
    # checked to be http(s).
    platform: str | None = None


@dataclass(frozen=True)
class Alert:
    kind: Kind
    severity: Severity
    # Same key = same alert: sent at most once, whatever the number of runs.
    dedupe_key: str
    title: str
    # Ordered (label, value) pairs shown as fields: the numbers that matter.
    facts: tuple[tuple[str, str], ...] = ()
    # Words of members, untrusted: quoted and escaped when rendered.
    member_text: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    # Team member id (team table) to mention; resolved to a Slack user id at routing.
    owner: str | None = None
    # Alerts with the same thread key go in one Slack thread (at-risk -> breach -> resolved).
    thread_key: str | None = None
    # When the situation it reports happened (UTC), and why it fired, for the context line.
    occurred_at: dt.datetime | None = None
    reason: str = ""
    # Marks the thread's incident as over: the root message is updated to say so.
    resolves: bool = False
    # Marks the thread's incident as going again after it was resolved (a crisis back within its
    # cooldown): the root message, which says "Resolved", is updated to say it re-opened; a later
    # `resolves` alert of the thread marks it resolved again.
    reopens: bool = False
    # Flood control: when more new alerts of one group arrive in a run than the group allows
    # (e.g. sla.max_individual_breach_alerts for "sla_breach"), they go out as one digest message.
    digest_group: str | None = None
    # When the alert stops telling the truth (UTC): an SLA at-risk warning once its deadline has passed,
    # when the breach alert takes over. Not delivered by then (quiet hours, Slack down, a demo's outbox
    # carried to a real run), it is suppressed as overtaken instead of being sent late.
    stale_at: dt.datetime | None = None
    # Extra payload for the renderer (e.g. a chart path for the digest); never member text.
    extra: dict[str, str] = field(default_factory=dict)
