"""Deliver what the outbox holds: each alert once, in order, to the right channel, or printed to the console.

One run:
1. Rows left `sending` by an interrupted run are looked up in Slack by their idempotency marker: found
   means it was posted (recorded now, not sent again); not found means it was not (back to pending).
2. Flood control: more alerts of one `digest_group` in one enqueue than allowed become one digest row;
   the individual rows are suppressed ("in digest <key>").
3. Rows waiting longer than `slack.give_up_after_hours` are suppressed as expired.
4. Each pending (or earlier failed) row, oldest first: quiet hours may hold it, a cooldown may suppress
   it, otherwise it is marked `sending` with a fresh marker, posted, and recorded `sent`.
5. Threads whose incident was resolved get their root message updated; digest charts are uploaded.

With no token and no webhook (or with `dry_run`), the same decisions are made and the alerts are printed.
A dry run writes nothing: it runs in a transaction that is rolled back.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from alerts.model import SEVERITY_ORDER, Alert
from alerts.outbox import alert_from_json, ensure_outbox, insert_row
from alerts.render import (
    console_safe,
    local_time,
    platform_hosts,
    render_console,
    render_message,
    slack_mention,
)
from alerts.routing import Owner, load_team, quiet_hold, route_channel, thread_channel
from alerts.slack_client import BotSender, DeliveryError, Posted, WebhookSender, load_token
from tertulia.config import Config

log = logging.getLogger("tertulia.alerts")

# How far before the send attempt the look-up starts, for clock skew between us and Slack.
LOOKUP_SLACK_SECONDS = 120.0


@dataclass
class DeliveryReport:
    mode: str  # bot | webhook | console | dry-run
    sent: int = 0
    failed: int = 0
    pending: int = 0
    suppressed: int = 0
    printed: int = 0
    held: int = 0
    hold_reasons: list[str] = field(default_factory=list)
    recovered: int = 0  # interrupted sends found in Slack and recorded without sending again
    problems: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def problem(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)
            log.warning("Slack delivery: %s", message)

    def render(self) -> str:
        head = {
            "bot": "Slack (bot)",
            "webhook": "Slack (webhook)",
            "console": "console (no Slack token set)",
            "dry-run": "console (dry run: nothing sent; new alerts wait in the outbox)",
        }[self.mode]
        parts = [
            f"{head}: {self.sent} sent, {self.printed} printed, {self.suppressed} suppressed, "
            f"{self.failed} failed, {self.pending} waiting ({self.held} held"
            + (f": {'; '.join(self.hold_reasons)})" if self.hold_reasons else ")")
        ]
        if self.recovered:
            parts.append(f"  {self.recovered} interrupted send(s) found already posted; not sent again")
        parts += [f"  ! {p}" for p in self.problems]
        return "\n".join(parts)


@dataclass
class _Row:
    id: int
    dedupe_key: str
    state: str
    attempts: int
    marker: str | None
    started_epoch: float | None
    channel: str | None
    channel_id: str | None
    thread_ts: str | None
    possible_repeat: bool
    batch_id: str
    alert: Alert


_ROW_COLUMNS = (
    "id, dedupe_key, state, attempts, idempotency_marker, sending_started_epoch, channel, channel_id, "
    "thread_ts, possible_repeat, batch_id, payload"
)


def _rows(con: duckdb.DuckDBPyConnection, where: str, params: list[Any] | None = None) -> list[_Row]:
    sql = f"select {_ROW_COLUMNS} from tertulia.alert_outbox where {where} order by id"  # noqa: S608 - fixed fragments
    return [
        _Row(
            int(r[0]),
            r[1],
            r[2],
            int(r[3]),
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            bool(r[9]),
            r[10],
            alert_from_json(r[11]),
        )
        for r in con.execute(sql, params or []).fetchall()
    ]


def _set(con: duckdb.DuckDBPyConnection, row_id: int, now: dt.datetime, **values: Any) -> None:
    cols = ", ".join(f"{k} = ?" for k in values)
    con.execute(
        f"update tertulia.alert_outbox set {cols}, updated_at = ? where id = ?",  # noqa: S608 - our column names
        [*values.values(), now, row_id],
    )


def _make_sender(
    config: Config, report: DeliveryReport, sleep: Callable[[float], None], clock: Callable[[], float]
) -> BotSender | WebhookSender | None:
    import os

    token, problem = load_token(config)
    if problem:
        report.problem(problem)
    if token:
        return BotSender(token, config, sleep=sleep, clock=clock)
    url = os.environ.get(config.slack.webhook_url_env, "").strip()
    if url:
        return WebhookSender(url, config, sleep=sleep, clock=clock)
    return None


def deliver_pending(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    *,
    now: dt.datetime,
    dry_run: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    out: Callable[[str], None] | None = None,
) -> DeliveryReport:
    """Send (or print) every deliverable outbox row; see the module docstring for the order of things."""
    ensure_outbox(con)
    out = out or (lambda text: print(text, flush=True))
    report = DeliveryReport(mode="dry-run" if dry_run else "console")
    sender = None if dry_run else _make_sender(config, report, sleep, clock)
    if sender is not None:
        report.mode = sender.mode
    delivery = _Delivery(con, config, now, report, sender, dry_run)
    renderer = _Renderer.load(con, config)
    if dry_run:
        con.execute("begin transaction")
    try:
        _run(delivery, renderer, out)
    finally:
        if dry_run:
            con.execute("rollback")
    counts = dict(con.execute("select state, count(*) from tertulia.alert_outbox group by state").fetchall())
    report.pending = int(counts.get("pending", 0) + counts.get("sending", 0) + counts.get("held", 0))
    reasons = con.execute(
        "select coalesce(hold_reason, 'held'), count(*) from tertulia.alert_outbox "
        "where state = 'held' or (state = 'pending' and hold_reason is not null) "
        "group by coalesce(hold_reason, 'held') order by count(*) desc, coalesce(hold_reason, 'held')"
    ).fetchall()
    report.held = sum(int(n) for _, n in reasons)
    # Why they wait, so "23 held" is not a riddle (quiet hours, a data-quality hold...).
    report.hold_reasons = [f"{n} {reason}" if len(reasons) > 1 else reason for reason, n in reasons]
    return report


def record_sent(
    con: duckdb.DuckDBPyConnection,
    row: _Row,
    *,
    channel: str,
    posted: Posted,
    via: str,
    thread_ts: str | None,
    now: dt.datetime,
) -> None:
    """The outbox learns the message is in Slack. A crash before this line is what the marker look-up covers."""
    _set(
        con,
        row.id,
        now,
        state="sent",
        channel=channel,
        channel_id=posted.channel_id or None,
        message_ts=posted.ts or None,
        thread_ts=thread_ts,
        sent_at=now,
        delivered_via=via,
        last_error=None,
        hold_reason=None,
    )
    if posted.channel_id:
        con.execute(
            "insert into tertulia.slack_channels values (?, ?, ?) on conflict (channel) do update "
            "set channel_id = excluded.channel_id, seen_at = excluded.seen_at",
            [channel, posted.channel_id, now],
        )
    alert = row.alert
    if alert.thread_key and posted.ts and thread_ts is None:
        con.execute(
            "insert into tertulia.alert_threads (thread_key, channel, channel_id, root_ts, root_outbox_id, "
            "root_severity) values (?, ?, ?, ?, ?, ?) on conflict do nothing",
            [alert.thread_key, channel, posted.channel_id, posted.ts, row.id, alert.severity],
        )
    if alert.resolves and alert.thread_key and via == "bot":
        con.execute(
            "update tertulia.alert_threads set resolve_requested_at = ?, resolve_note = ? "
            "where thread_key = ? and resolved_at is null",
            [now, alert.title, alert.thread_key],
        )
    if alert.reopens and alert.thread_key and via == "bot":
        # The incident is going again: the root's "Resolved" (shown, or still to show) gives way to a
        # re-opened note, and the thread can be resolved again by its next resolving alert.
        con.execute(
            "update tertulia.alert_threads set reopen_requested_at = ?, reopen_note = ?, reopened_at = null, "
            "resolve_requested_at = null, resolve_note = null, resolved_at = null, resolve_error = null "
            "where thread_key = ? and resolve_requested_at is not null",
            [now, alert.title, alert.thread_key],
        )


FLOOD_LIST_MAX = 20


def _listing(alerts: list[Alert], config: Config) -> list[str]:
    """One line per alert of a flood digest (the first FLOOD_LIST_MAX), with its local time."""
    lines = []
    for a in alerts[:FLOOD_LIST_MAX]:
        when = f"{local_time(a.occurred_at, config.tz)} · " if a.occurred_at is not None else ""
        lines.append(when + a.title)
    if len(alerts) > FLOOD_LIST_MAX:
        lines.append(f"…and {len(alerts) - FLOOD_LIST_MAX} more (all in tertulia.alert_outbox)")
    return lines


# ---------------------------------------------------------------------------------------------------
# One delivery run, as small steps over what they share. Each step has one job: recover interrupted
# sends, fold floods into digests, expire, decide each row's fate (hold, cooldown, route), claim it,
# render it, post it and record the result, then update thread roots and upload charts.


@dataclass
class _Delivery:
    """What the steps of one run share. `stopped` is set once Slack is down or refuses the token:
    nothing more is sent this run and the rows stay where they are for the next one."""

    con: duckdb.DuckDBPyConnection
    config: Config
    now: dt.datetime
    report: DeliveryReport
    sender: BotSender | WebhookSender | None
    dry_run: bool
    stopped: bool = False
    uploaded: set[int] = field(default_factory=set)  # outbox ids whose chart this run already tried

    def set(self, row_id: int, **values: Any) -> None:
        _set(self.con, row_id, self.now, **values)

    def stop(self, err: DeliveryError) -> None:
        self.report.problem(str(err))
        self.stopped = True


@dataclass(frozen=True)
class _Renderer:
    """An alert as Slack blocks or console text, with its owner looked up in the team table."""

    config: Config
    team: dict[str, Owner]
    link_hosts: dict[str, Any]

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, config: Config) -> _Renderer:
        return cls(config, load_team(con), platform_hosts(config))

    def owner(self, alert: Alert) -> tuple[str | None, str | None]:
        """(Slack mention, name) of the alert's owner: the mention when the team table has a valid Slack
        id, and the team member's name (the member id only when the team table does not know it)."""
        if not alert.owner:
            return None, None
        owner = self.team.get(alert.owner)
        if owner is None:
            return None, alert.owner
        return slack_mention(owner.slack_user_id), owner.name or owner.member_id

    def slack(self, alert: Alert, **notes: Any) -> Any:
        mention, name = self.owner(alert)
        return render_message(
            alert,
            tz=self.config.tz,
            owner_mention=mention,
            owner_name=name,
            link_hosts=self.link_hosts,
            **notes,
        )

    def console(self, alert: Alert, channel: str) -> str:
        _, name = self.owner(alert)
        return render_console(
            alert, tz=self.config.tz, channel=channel, owner_name=name, link_hosts=self.link_hosts
        )


def _run(d: _Delivery, renderer: _Renderer, out: Callable[[str], None]) -> None:
    """The steps of the module docstring, in its order."""
    if d.sender is not None:
        try:
            d.sender.check_auth()
        except DeliveryError as err:
            d.report.problem(str(err))
            return  # nothing is sent with a bad token or while Slack is down; rows stay pending
        _recover_interrupted(d)
        if d.stopped:
            return
    elif not d.dry_run:
        # Interrupted Slack sends, and now no token: print them, flagged, rather than keep them forever.
        d.con.execute(
            "update tertulia.alert_outbox set state = 'pending', possible_repeat = true, updated_at = ? "
            "where state = 'sending'",
            [d.now],
        )
    _flood_control(d)
    _expire(d)
    _send_rows(d, renderer, out)
    if isinstance(d.sender, BotSender) and not d.stopped:
        _finish_resolutions(d, renderer)
        _retry_attachments(d)


# 1. interrupted sends


def _recover_interrupted(d: _Delivery) -> None:
    for row in _rows(d.con, "state = 'sending'"):
        verdict = _lookup(d, row)
        if verdict is None:
            return
        found, ts, channel_id = verdict
        if found:
            record_sent(
                d.con,
                row,
                channel=row.channel or "",
                posted=Posted(channel_id or "", ts or ""),
                via=d.sender.mode if d.sender else "bot",
                thread_ts=row.thread_ts,
                now=d.now,
            )
            d.report.recovered += 1
        else:
            d.set(row.id, state="pending", idempotency_marker=None)


def _lookup(d: _Delivery, row: _Row) -> tuple[bool, str | None, str | None] | None:
    """(found, ts, channel_id); (False, ...) also when we cannot tell (then marked possible repeat); None: stop."""
    sender = d.sender
    channel_id = row.channel_id or _known_channel_id(d.con, row.channel)
    if isinstance(sender, BotSender) and not channel_id and row.channel and row.marker:
        # The first message ever to this channel was interrupted, so we never learnt its id.
        try:
            channel_id = sender.channel_id_for(row.channel)
        except DeliveryError as err:
            if err.outage:
                d.stop(err)
                return None
            channel_id = None  # no channels:read scope: cannot look, treated as a possible repeat below
    if not isinstance(sender, BotSender) or not channel_id or not row.marker:
        why = (
            "the channel's id is unknown: give the app channels:read / groups:read, or write channel IDs "
            "in slack.channels"
        )
        d.set(row.id, possible_repeat=True)
        d.report.problem(
            f"alert {row.dedupe_key} was being sent when a run stopped and cannot be looked up in Slack "
            f"({'a webhook cannot read messages' if isinstance(sender, WebhookSender) else why}); it is sent again "
            "and marked as a possible repeat"
        )
        return False, None, None
    oldest = (row.started_epoch or 0.0) - LOOKUP_SLACK_SECONDS
    try:
        ts = sender.find_marker(channel_id, row.marker, oldest=oldest, thread_ts=row.thread_ts)
    except DeliveryError as err:
        if err.outage:
            d.stop(err)
            return None
        d.set(row.id, possible_repeat=True)
        d.report.problem(
            f"cannot check whether alert {row.dedupe_key} was already posted: {err}; it is sent "
            "again and marked as a possible repeat"
        )
        return False, None, None
    return ts is not None, ts, channel_id


def _known_channel_id(con: duckdb.DuckDBPyConnection, channel: str | None) -> str | None:
    if not channel:
        return None
    if channel[:1] in ("C", "G", "D") and channel.isalnum() and channel.isupper():
        return channel
    row = con.execute(
        "select channel_id from tertulia.slack_channels where channel = ?", [channel]
    ).fetchone()
    return row[0] if row else None


# 2. flood control


def _flood_limit(config: Config, group: str) -> int:
    if group == "sla_breach":
        return config.sla.max_individual_breach_alerts
    return config.slack.digest_group_limits.get(group, 10)


def _flood_digest(alerts: list[Alert], group: str, batch_id: str, limit: int, config: Config) -> Alert:
    """The one message that stands for a flood of one group's alerts, as severe as the worst of them."""
    worst = max(alerts, key=lambda a: SEVERITY_ORDER.get(a.severity, 0))
    occurred = [a.occurred_at for a in alerts if a.occurred_at]
    return Alert(
        kind=worst.kind,
        severity=worst.severity,
        dedupe_key=f"flood:{group}:{batch_id}",
        title=f"{len(alerts)} {group.replace('_', ' ')} alerts at once",
        facts=(("Alerts", str(len(alerts))), ("Most severe", worst.severity)),
        extra={"list": "\n".join(_listing(alerts, config))},
        occurred_at=max(occurred) if occurred else None,
        reason=f"more than {limit} at once are sent as one message instead of one each",
    )


def _flood_control(d: _Delivery) -> None:
    groups = d.con.execute(
        "select batch_id, digest_group, count(*) from tertulia.alert_outbox "
        "where state = 'pending' and digest_group is not null group by 1, 2 order by 1, 2"
    ).fetchall()
    for batch_id, group, n in groups:
        limit = _flood_limit(d.config, group)
        if n <= limit:
            continue
        rows = _rows(d.con, "state = 'pending' and batch_id = ? and digest_group = ?", [batch_id, group])
        digest = _flood_digest([r.alert for r in rows], group, batch_id, limit, d.config)
        _replace_with_digest(d, digest, batch_id, [r.id for r in rows])
        d.report.suppressed += len(rows)


def _replace_with_digest(d: _Delivery, digest: Alert, batch_id: str, row_ids: list[int]) -> None:
    """The digest row in, its alerts suppressed, together (a dry run is one transaction already)."""
    if not d.dry_run:
        d.con.execute("begin transaction")
    try:
        insert_row(d.con, digest, now=d.now, batch_id=batch_id)
        d.con.execute(
            "update tertulia.alert_outbox set state = 'suppressed', suppressed_reason = ?, updated_at = ? "
            "where id in (select unnest(?::bigint[]))",
            [f"in digest {digest.dedupe_key}", d.now, row_ids],
        )
        if not d.dry_run:
            d.con.execute("commit")
    except BaseException:
        if not d.dry_run:
            d.con.execute("rollback")
        raise


# 3. expiry


def _expire(d: _Delivery) -> None:
    hours = d.config.slack.give_up_after_hours
    cutoff = d.now - dt.timedelta(hours=hours)
    n = d.con.execute(
        "update tertulia.alert_outbox set state = 'suppressed', updated_at = ?, suppressed_reason = "
        "'expired: not delivered within ' || ? || ' h (last error: ' || coalesce(last_error, hold_reason, 'none') || ')' "
        "where state in ('pending', 'failed', 'held') and created_at < ? returning id",
        [d.now, str(hours), cutoff],
    ).fetchall()
    if n:
        d.report.suppressed += len(n)
        d.report.problem(
            f"{len(n)} alert(s) could not be delivered within {hours} h and were given up "
            "(see tertulia.alert_outbox, suppressed_reason)"
        )


# 4. sending: decide, claim, render, post, record


def _send_rows(d: _Delivery, renderer: _Renderer, out: Callable[[str], None]) -> None:
    blocked: set[str] = set()  # channels Slack refused this run (not found, archived, not in channel)
    for row in _rows(d.con, "state in ('pending', 'failed')"):
        if d.stopped:
            return
        channel = _decide(d, row)
        if channel is None:
            continue
        if d.sender is None:
            _print(d, renderer, out, row, channel)
        elif channel not in blocked:
            _send(d, renderer, row, channel, blocked)


def _decide(d: _Delivery, row: _Row) -> str | None:
    """The channel to deliver `row` to now, or None when it is held, suppressed or has no channel
    (each recorded on the row)."""
    alert = row.alert
    if alert.stale_at is not None and _utc(d.now) >= _utc(alert.stale_at):
        d.set(
            row.id,
            state="suppressed",
            hold_reason=None,
            suppressed_reason=f"overtaken: not delivered before {local_time(alert.stale_at, d.config.tz)}",
        )
        d.report.suppressed += 1
        return None
    hold = quiet_hold(d.config, alert, d.now)
    if hold:
        d.set(row.id, state="pending", hold_reason=hold)
        return None
    cooldown = _cooldown(d, row)
    if cooldown:
        d.set(row.id, state="suppressed", suppressed_reason=cooldown, hold_reason=None)
        d.report.suppressed += 1
        return None
    channel = route_channel(d.config, alert)
    if alert.thread_key:
        roots = d.con.execute(
            "select channel, root_severity from tertulia.alert_threads where thread_key = ?",
            [alert.thread_key],
        ).fetchall()
        channel = thread_channel(channel, alert.severity, [(c, sev or "info") for c, sev in roots])
    if not channel:
        msg = (
            f"no Slack channel for alerts of kind {alert.kind!r}: add slack.channels.{alert.kind} to "
            "community.yml (the alert waits in the outbox)"
        )
        d.set(row.id, state="failed", last_error=msg)
        d.report.failed += 1
        d.report.problem(msg)
        return None
    return channel


def _utc(instant: dt.datetime) -> dt.datetime:
    """Naive instants in the warehouse are UTC (timestamps without a zone)."""
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)


def _cooldown(d: _Delivery, row: _Row) -> str | None:
    alert = row.alert
    minutes = d.config.slack.cooldown_minutes.get(alert.kind, 0)
    if minutes <= 0 or alert.resolves or alert.reopens:
        return None
    scope_sql = "thread_key = ?" if alert.thread_key else "thread_key is null and payload->>'title' = ?"
    last = d.con.execute(
        f"select sent_at, severity from tertulia.alert_outbox where state = 'sent' and kind = ? and {scope_sql} "  # noqa: S608
        "and id <> ? and sent_at > ? order by sent_at desc limit 1",
        [alert.kind, alert.thread_key or alert.title, row.id, d.now - dt.timedelta(minutes=minutes)],
    ).fetchone()
    if last is None or SEVERITY_ORDER.get(alert.severity, 0) > SEVERITY_ORDER.get(last[1], 0):
        return None  # nothing recent, or an escalation: escalations always go out
    return (
        f"cooldown: the same {alert.kind} signal was sent at {local_time(last[0], d.config.tz)} "
        f"with a {minutes} min cooldown"
    )


def _print(d: _Delivery, renderer: _Renderer, out: Callable[[str], None], row: _Row, channel: str) -> None:
    text = renderer.console(row.alert, channel)
    out(text)
    d.report.lines.append(text)
    d.report.printed += 1
    record_sent(d.con, row, channel=channel, posted=Posted("", ""), via="console", thread_ts=None, now=d.now)


def _thread_for(d: _Delivery, alert: Alert, channel: str) -> tuple[str | None, bool]:
    """(thread_ts, reply_broadcast) when an earlier alert of this thread was posted in this channel."""
    if not alert.thread_key or not d.sender or not d.sender.supports_threads:
        return None, False
    root = d.con.execute(
        "select root_ts, root_severity from tertulia.alert_threads where thread_key = ? and channel = ?",
        [alert.thread_key, channel],
    ).fetchone()
    if root is None:
        return None, False
    escalated = SEVERITY_ORDER.get(alert.severity, 0) > SEVERITY_ORDER.get(root[1], 0)
    return root[0], escalated


def _claim(d: _Delivery, row: _Row, channel: str, thread_ts: str | None) -> str:
    """Mark the row `sending` with a fresh idempotency marker, durably, before the call to Slack: if we
    die after Slack accepts the message, the next run finds this marker. Returns the marker."""
    marker = uuid.uuid4().hex
    d.set(
        row.id,
        state="sending",
        idempotency_marker=marker,
        sending_started_epoch=time.time(),
        attempts=row.attempts + 1,
        channel=channel,
        channel_id=_known_channel_id(d.con, channel),
        thread_ts=thread_ts,
        hold_reason=None,
    )
    return marker


def _send(d: _Delivery, renderer: _Renderer, row: _Row, channel: str, blocked: set[str]) -> None:
    assert d.sender is not None
    alert = row.alert
    thread_ts, broadcast = _thread_for(d, alert, channel)
    message = renderer.slack(alert, possible_repeat=row.possible_repeat)
    marker = _claim(d, row, channel, thread_ts)
    metadata = {
        "event_type": "tertulia_alert",
        "event_payload": {"marker": marker, "dedupe_key": alert.dedupe_key},
    }
    try:
        # Retries, backoff and Slack's rate limits are the sender's (alerts.slack_client).
        posted = d.sender.post(
            channel, message, thread_ts=thread_ts, metadata=metadata, reply_broadcast=broadcast
        )
    except DeliveryError as err:
        _record_failure(d, row, channel, err, blocked)
        return
    record_sent(d.con, row, channel=channel, posted=posted, via=d.sender.mode, thread_ts=thread_ts, now=d.now)
    d.report.sent += 1
    chart = alert.extra.get("chart_path")
    if chart and isinstance(d.sender, BotSender):
        d.set(row.id, attachment_state="pending")
        _upload_chart(d, row.id, posted.channel_id, Path(chart), alert.title, posted.ts)


def _record_failure(d: _Delivery, row: _Row, channel: str, err: DeliveryError, blocked: set[str]) -> None:
    message = str(err)
    if err.category == "uncertain":
        # Maybe posted: stay `sending`; the next run looks the marker up before any resend.
        d.set(row.id, last_error=message)
    elif err.category == "retry":
        d.set(row.id, state="pending", last_error=message, idempotency_marker=None)
    else:
        d.set(row.id, state="failed", last_error=message, idempotency_marker=None)
        d.report.failed += 1
    d.report.problem(message)
    if err.category == "channel":
        blocked.add(channel)
    if err.outage or err.category == "auth":
        d.stopped = True


# 5. after sending


def _upload_chart(
    d: _Delivery, row_id: int, channel_id: str, path: Path, title: str, thread_ts: str | None
) -> None:
    assert isinstance(d.sender, BotSender)
    d.uploaded.add(row_id)
    if not path.exists():
        d.set(
            row_id,
            attachment_state="failed",
            attachment_error=f"chart {path} no longer exists; it is made again with the next digest",
        )
        return
    try:
        d.sender.upload(channel_id, path, title=title, thread_ts=thread_ts)
    except DeliveryError as err:
        d.set(row_id, attachment_state="failed", attachment_error=str(err))
        d.report.problem(f"digest chart not uploaded: {err}")
        return
    d.set(row_id, attachment_state="uploaded", attachment_error=None)


def _retry_attachments(d: _Delivery) -> None:
    cutoff = d.now - dt.timedelta(hours=d.config.slack.give_up_after_hours)
    rows = d.con.execute(
        "select id, channel_id, message_ts, payload from tertulia.alert_outbox where state = 'sent' "
        "and delivered_via = 'bot' and attachment_state in ('pending', 'failed') and created_at >= ? order by id",
        [cutoff],
    ).fetchall()
    for row_id, channel_id, ts, payload in rows:
        if row_id in d.uploaded:
            continue
        alert = alert_from_json(payload)
        if alert.extra.get("chart_path"):
            _upload_chart(d, row_id, channel_id, Path(alert.extra["chart_path"]), alert.title, ts)


# (state, its request and note columns, the column stamped once the root shows it, its label); column
# names are constants. Re-opened first, so that a thread re-opened and resolved again before this run
# ends up saying "Resolved".
_ROOT_UPDATES = (
    ("re-opened", "reopen_requested_at", "reopen_note", "reopened_at", "Re-opened"),
    ("resolved", "resolve_requested_at", "resolve_note", "resolved_at", "Resolved"),
)


def _finish_resolutions(d: _Delivery, renderer: _Renderer) -> None:
    """Updates the root message of each thread whose incident re-opened or ended since."""
    assert isinstance(d.sender, BotSender)
    for state, requested_col, note_col, done_col, label in _ROOT_UPDATES:
        threads = d.con.execute(
            f"select t.thread_key, t.channel, t.channel_id, t.root_ts, t.{requested_col}, t.{note_col}, "  # noqa: S608
            "o.payload from tertulia.alert_threads t join tertulia.alert_outbox o on o.id = t.root_outbox_id "
            f"where t.{requested_col} is not null and t.{done_col} is null "
            # a re-opened thread resolved again since: its root goes straight to "Resolved"
            + ("and t.resolve_requested_at is null " if state == "re-opened" else "")
            + f"order by t.{requested_col}"
        ).fetchall()
        for thread_key, channel, channel_id, root_ts, requested, note, payload in threads:
            root = alert_from_json(payload)
            text = f"{label} {local_time(requested, d.config.tz)}" + (f": {note}" if note else "")
            message = renderer.slack(
                root,
                resolved_note=text if state == "resolved" else None,
                reopened_note=text if state == "re-opened" else None,
            )
            try:
                d.sender.update(channel_id, root_ts, message)
            except DeliveryError as err:
                d.con.execute(
                    "update tertulia.alert_threads set resolve_error = ? where thread_key = ? and channel = ?",
                    [str(err), thread_key, channel],
                )
                d.report.problem(f"could not mark the thread in {console_safe(channel)} {state}: {err}")
                if err.outage:
                    return
                continue
            d.con.execute(
                f"update tertulia.alert_threads set {done_col} = ?, resolve_error = null "  # noqa: S608
                "where thread_key = ? and channel = ?",
                [d.now, thread_key, channel],
            )
