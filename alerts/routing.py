"""Who hears about an alert, where and when: channel per kind and severity, owner mention, quiet hours."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from alerts.model import SEVERITY_ORDER, Alert
from tertulia.config import Config
from tertulia.warehouse import table_exists


@dataclass(frozen=True)
class Owner:
    member_id: str
    name: str | None
    slack_user_id: str | None


def route_channel(config: Config, alert: Alert) -> str | None:
    """`slack.channel_overrides["kind:severity"]`, else `slack.channels[kind]`."""
    return config.channel_for(alert.kind, alert.severity)


def thread_channel(routed: str | None, severity: str, roots: list[tuple[str, str]]) -> str | None:
    """Where an alert of a thread already started goes, given its roots as (channel, root severity).

    A thread stays where people follow it: an update or the "is over" note of a crisis opened as critical
    in `#comms-leads` (a severity override) goes there, not to the kind's everyday channel. Only an
    escalation above every root's severity goes to its own routed channel (and starts a thread there), so
    a warning that becomes critical still reaches the people the override names."""
    if not roots or routed in {c for c, _ in roots}:
        return routed
    top_channel, top_severity = max(roots, key=lambda r: SEVERITY_ORDER.get(r[1], 0))
    if SEVERITY_ORDER.get(severity, 0) > SEVERITY_ORDER.get(top_severity, 0):
        return routed
    return top_channel


def load_team(con: duckdb.DuckDBPyConnection) -> dict[str, Owner]:
    """member_id -> Owner, from staging when dbt has built it, else from the raw team table."""
    if table_exists(con, "staging", "stg_social__team"):
        sql = "select member_id, member_name, slack_user_id from staging.stg_social__team"
    elif table_exists(con, "raw", "team"):
        sql = "select member_id, name, nullif(trim(slack_user_id), '') from raw.team"
    else:
        return {}
    try:
        rows = con.execute(sql).fetchall()
    except duckdb.Error:  # a view whose source is missing: no mentions rather than no alerts
        return {}
    return {str(mid): Owner(str(mid), name, sid) for mid, name, sid in rows if mid is not None}


def _parse_hhmm(value: str) -> dt.time:
    hours, minutes = (int(x) for x in value.split(":"))
    return dt.time(0, 0) if hours == 24 else dt.time(hours, minutes)


def quiet_hold(config: Config, alert: Alert, now: dt.datetime) -> str | None:
    """Why this alert waits now (quiet hours in the community's timezone), or None to send it."""
    quiet = config.slack.quiet_hours
    if quiet is None or SEVERITY_ORDER.get(alert.severity, 0) >= SEVERITY_ORDER[quiet.hold_below]:
        return None
    start, end = _parse_hhmm(quiet.start), _parse_hhmm(quiet.end)
    utc = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
    local = utc.astimezone(config.tz).time()
    inside = (start <= local < end) if start < end else (local >= start or local < end)
    if not inside:
        return None
    return f"quiet hours: {alert.severity} alerts wait until {quiet.end} {config.community.timezone}"
