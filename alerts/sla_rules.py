"""SLA alerts from `marts.fct_sla_events`: at risk, breached, resolved.

Which alert a row calls for at `now` (its alert state) is decided once, in the query of `sla_alerts`
(`ALERT_STATE`): from the row's deadlines and `now`, not from the mart's `status` column, so an alert
run later than the dbt build is still right. The same query leaves in the warehouse the rows whose
alert for that state is already in the outbox (tens of thousands in a busy community's window), so
the state is written once, where the filter needs it. The messages are a pure function of those rows
(`alert_for_row`); the outbox's dedupe keys make each (item, state) go out once however many runs see
it, and `thread_key` keeps an item's at-risk, breach and resolved messages in one Slack thread.
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


def alert_for_row(row: Mapping[str, Any], now: dt.datetime, *, tz: ZoneInfo) -> Alert:
    """The alert of one SLA event in its `alert_state` (breached, at_risk or resolved, as `ALERT_STATE`
    decided it at `now`, naive UTC); `tz` is the community's timezone the texts show times in."""
    state = row["alert_state"]
    key = row["sla_event_id"]
    breach_at: dt.datetime = row["sla_breach_at"]
    where = f"{row.get('platform')} {row.get('channel')}"
    if state == "breached":
        return Alert(
            severity="critical",
            dedupe_key=f"sla:{key}:breached",
            title=f"SLA breached: {where} unanswered past its deadline",
            facts=_facts(row, ("Overdue by", format_duration((now - breach_at).total_seconds() / 60))),
            occurred_at=breach_at,
            reason=f"no reply by the brand or the team by {local_time(breach_at, tz)}",
            digest_group="sla_breach",
            **_common(row),
        )
    if state == "at_risk":
        return Alert(
            severity="warning",
            dedupe_key=f"sla:{key}:at_risk",
            title=f"SLA at risk: {where} waiting for a reply",
            facts=_facts(row, ("Time left", format_duration((breach_at - now).total_seconds() / 60))),
            occurred_at=row["at_risk_at"],
            reason=f"unanswered; the deadline is {local_time(breach_at, tz)}",
            stale_at=breach_at,  # past the deadline the warning is moot: the breach alert says it
            **_common(row),
        )
    if state == "resolved":
        answered_at: dt.datetime = row["first_response_at"]
        late = answered_at > breach_at
        return Alert(
            severity="info",
            dedupe_key=f"sla:{key}:resolved",
            title=f"Answered{' late' if late else ''}: {where}",
            facts=_facts(row, ("Answered at", local_time(answered_at, tz))),
            occurred_at=answered_at,
            reason="the brand or the team replied in the thread",
            resolves=True,
            **_common(row),
        )
    raise ValueError(
        f"SLA event {key}: alert state {state!r} is not breached, at_risk or resolved; "
        "rows come from sla_alerts' query, which decides the state"
    )


def rule(rows: Iterable[Mapping[str, Any]], now: dt.datetime, *, tz: ZoneInfo) -> list[Alert]:
    return [alert_for_row(row, now, tz=tz) for row in rows]


# The alert a row calls for at $now (naive UTC), $since = $now less the news window; null for none.
# Unanswered (or answered after $now): breached once past the deadline, unless the breach is older than
# the window (history, not news); at risk once past the at-risk point. Answered: a resolved note, only
# for a reply after the at-risk point (an at-risk or breach alert could have opened a thread) and
# within the window. No deadline (no policy, or no business hours ahead): nothing to warn about.
ALERT_STATE = """
    case
        when e.sla_breach_at is null then null
        when e.first_response_at is null or e.first_response_at > $now then
            case
                when $now >= e.sla_breach_at then case when e.sla_breach_at >= $since then 'breached' end
                when e.at_risk_at is not null and $now >= e.at_risk_at then 'at_risk'
            end
        when e.at_risk_at is not null and e.first_response_at >= e.at_risk_at and e.first_response_at >= $since
            then 'resolved'
    end"""


def sla_alerts(con: duckdb.DuckDBPyConnection, config: Config, now: dt.datetime) -> list[Alert]:
    """Alerts for the SLA events that are at risk, breached, or just resolved at `now` (UTC)."""
    from tertulia.warehouse import table_exists

    if not table_exists(con, "marts", "fct_sla_events"):
        return []
    if now.tzinfo is not None:
        now = now.astimezone(dt.UTC).replace(tzinfo=None)
    since = now - news_window(config)
    already_alerted = ""
    if table_exists(con, "tertulia", "alert_outbox"):
        already_alerted = (
            "and not exists (select 1 from tertulia.alert_outbox as o "
            "where o.dedupe_key = 'sla:' || s.sla_event_id || ':' || s.alert_state)"
        )
    cur = con.execute(
        f"select {', '.join('s.' + c for c in ROW_COLUMNS)}, s.alert_state "  # noqa: S608 - fixed SQL
        f"from (select {', '.join('e.' + c for c in ROW_COLUMNS)}, {ALERT_STATE} as alert_state "
        "from marts.fct_sla_events as e "
        # a cheap first cut, pushed into the scan: nothing before its at-risk point, nothing old
        "where e.at_risk_at <= $now and (e.sla_breach_at >= $since or e.first_response_at >= $since)"
        ") as s "
        f"where s.alert_state is not null {already_alerted} order by s.sla_breach_at, s.sla_event_id",
        {"now": now, "since": since},
    )
    rows = [dict(zip((*ROW_COLUMNS, "alert_state"), r, strict=True)) for r in cur.fetchall()]
    return rule(rows, now, tz=config.tz)
