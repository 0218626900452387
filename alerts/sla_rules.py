"""SLA alerts from `marts.fct_sla_events`: at risk, breached, resolved.

The rule is a pure function of the mart's rows and `now`; the outbox's dedupe keys make each
(item, state) go out once however many runs see it, and `thread_key` keeps an item's at-risk,
breach and resolved messages in one Slack thread. Status is decided from the row's deadlines and
`now`, not from the mart's `status` column, so an alert run later than the dbt build is still right.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from alerts.model import Alert, Link
from alerts.render import local_time
from alerts.rules import news_window
from tertulia.config import Config

MEMBER_TEXT_CHARS = 280
ROW_COLUMNS = (
    "sla_event_id",
    "platform",
    "channel",
    "account_id",
    "item_message",
    "permalink",
    "arrived_at",
    "policy_name",
    "target_minutes",
    "is_business_time",
    "sla_breach_at",
    "at_risk_at",
    "first_response_at",
    "owner_member_id",
)


def format_duration(minutes: float) -> str:
    """Whole minutes as '45 min', '2 h 05 min', '3 d 4 h'."""
    m = max(0, round(minutes))
    if m < 60:
        return f"{m} min"
    h, mm = divmod(m, 60)
    if h < 24:
        return f"{h} h {mm:02d} min"
    d, hh = divmod(h, 24)
    return f"{d} d {hh} h"


def _truncate(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    return (text if len(text) <= MEMBER_TEXT_CHARS else text[: MEMBER_TEXT_CHARS - 1] + "…",)


def _common(row: Mapping[str, Any]) -> dict[str, Any]:
    links = (
        (Link("Open the conversation", row["permalink"], platform=str(row.get("platform") or "")),)
        if row.get("permalink")
        else ()
    )
    return {
        "kind": "sla",
        "member_text": _truncate(row.get("item_message")),
        "links": links,
        "owner": row.get("owner_member_id"),
        "thread_key": f"sla:{row['sla_event_id']}",
    }


def _facts(row: Mapping[str, Any], *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    clock = "business" if row.get("is_business_time") else "calendar"
    facts = [
        ("Platform", str(row.get("platform") or "?")),
        ("Channel", str(row.get("channel") or "?")),
        ("Policy", f"{row.get('policy_name')} ({row.get('target_minutes')} {clock} min)"),
        *extra,
    ]
    return tuple(facts)


def alerts_for_row(
    row: Mapping[str, Any], now: dt.datetime, *, recent: dt.timedelta, tz: ZoneInfo
) -> list[Alert]:
    """The alerts one SLA event calls for at `now` (naive UTC); `recent` bounds how old a news may be,
    `tz` is the community's timezone the texts show times in."""
    key = row["sla_event_id"]
    breach_at: dt.datetime | None = row.get("sla_breach_at")
    risk_at: dt.datetime | None = row.get("at_risk_at")
    answered_at: dt.datetime | None = row.get("first_response_at")
    if breach_at is None:
        return []  # no policy or no business hours ahead: nothing to warn about
    where = f"{row.get('platform')} {row.get('channel')}"
    if answered_at is None or answered_at > now:
        if now >= breach_at:
            if now - breach_at > recent:
                return []  # breached long before this pipeline ran: history, not news
            return [
                Alert(
                    severity="critical",
                    dedupe_key=f"sla:{key}:breached",
                    title=f"SLA breached: {where} unanswered past its deadline",
                    facts=_facts(
                        row, ("Overdue by", format_duration((now - breach_at).total_seconds() / 60))
                    ),
                    occurred_at=breach_at,
                    reason=f"no reply by the brand or the team by {local_time(breach_at, tz)}",
                    digest_group="sla_breach",
                    **_common(row),
                )
            ]
        if risk_at is not None and now >= risk_at:
            return [
                Alert(
                    severity="warning",
                    dedupe_key=f"sla:{key}:at_risk",
                    title=f"SLA at risk: {where} waiting for a reply",
                    facts=_facts(row, ("Time left", format_duration((breach_at - now).total_seconds() / 60))),
                    occurred_at=risk_at,
                    reason=f"unanswered; the deadline is {local_time(breach_at, tz)}",
                    **_common(row),
                )
            ]
        return []
    # Answered: a resolved note only closes a thread that an at-risk or breach alert could have opened.
    if risk_at is not None and answered_at >= risk_at and now - answered_at <= recent:
        late = answered_at > breach_at
        return [
            Alert(
                severity="info",
                dedupe_key=f"sla:{key}:resolved",
                title=f"Answered{' late' if late else ''}: {where}",
                facts=_facts(row, ("Answered at", local_time(answered_at, tz))),
                occurred_at=answered_at,
                reason="the brand or the team replied in the thread",
                resolves=True,
                **_common(row),
            )
        ]
    return []


def rule(
    rows: Iterable[Mapping[str, Any]], now: dt.datetime, *, recent: dt.timedelta, tz: ZoneInfo
) -> list[Alert]:
    out: list[Alert] = []
    for row in rows:
        out.extend(alerts_for_row(row, now, recent=recent, tz=tz))
    return out


def sla_alerts(con: duckdb.DuckDBPyConnection, config: Config, now: dt.datetime) -> list[Alert]:
    """Alerts for the SLA events that are at risk, breached, or just resolved at `now` (UTC)."""
    from tertulia.warehouse import table_exists

    if not table_exists(con, "marts", "fct_sla_events"):
        return []
    if now.tzinfo is not None:
        now = now.astimezone(dt.UTC).replace(tzinfo=None)
    recent = news_window(config)
    since = now - recent
    # Rows whose alert for their state at `now` is already in the outbox are left in the warehouse: the
    # outbox would drop them anyway, and a busy community has tens of thousands of them in the window.
    # The state here mirrors alerts_for_row; where the two disagreed, the row would only be kept.
    already_alerted = ""
    if table_exists(con, "tertulia", "alert_outbox"):
        already_alerted = """
        and not exists (
            select 1 from tertulia.alert_outbox as o
            where o.dedupe_key = 'sla:' || e.sla_event_id || ':' || case
                when e.first_response_at is null or e.first_response_at > $now then
                    case when $now >= e.sla_breach_at then 'breached' else 'at_risk' end
                else 'resolved' end
        )"""
    cur = con.execute(
        f"select {', '.join('e.' + c for c in ROW_COLUMNS)} from marts.fct_sla_events as e "  # noqa: S608 - fixed SQL
        "where e.sla_breach_at is not null and e.at_risk_at <= $now "
        "and ((e.first_response_at is null and e.sla_breach_at >= $since) "
        # answered: only a reply after the at-risk point closes a thread an alert opened
        "or (e.first_response_at >= $since and e.first_response_at >= e.at_risk_at))"
        f"{already_alerted} order by e.sla_breach_at, e.sla_event_id",
        {"now": now, "since": since},
    )
    rows = [dict(zip(ROW_COLUMNS, r, strict=True)) for r in cur.fetchall()]
    return rule(rows, now, recent=recent, tz=config.tz)
