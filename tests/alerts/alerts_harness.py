"""Shared set-up for the alert tests: a config pointed at the fake Slack server, alerts, a warehouse."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from alerts.model import Alert
from alerts.outbox import ensure_outbox
from tertulia.config import Config

# 10:00 in Guayaquil (UTC-5): outside the example's quiet hours (21:00-08:00).
DAYTIME = dt.datetime(2026, 11, 20, 15, 0)
# 22:00 in Guayaquil: inside quiet hours.
NIGHT = dt.datetime(2026, 11, 21, 3, 0)


def with_slack(config: Config, **updates: Any) -> Config:
    base = {"seconds_per_message_per_channel": 0.0, "timeout_seconds": 0.5, "quiet_hours": None}
    return config.model_copy(update={"slack": config.slack.model_copy(update={**base, **updates})})


def alert(key: str, *, kind: str = "sla", severity: str = "warning", **kw: Any) -> Alert:
    kw.setdefault("title", f"Alert {key}")
    return Alert(kind=kind, severity=severity, dedupe_key=key, **kw)  # type: ignore[arg-type]


def open_db(config: Config) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(config.warehouse_path))
    con.execute("create schema if not exists tertulia")
    ensure_outbox(con)
    return con


def team_table(con: duckdb.DuckDBPyConnection, *members: tuple[str, str | None, str | None]) -> None:
    """raw.team as the bundle's team.csv lands it: one (member_id, name, slack_user_id) per member."""
    con.execute("create schema if not exists raw")
    con.execute(
        "create table raw.team (member_id varchar, name varchar, email varchar, slack_user_id varchar, "
        "handles varchar)"
    )
    for member_id, name, slack_user_id in members:
        con.execute("insert into raw.team values (?, ?, null, ?, null)", [member_id, name, slack_user_id])


def states(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("select dedupe_key, state from tertulia.alert_outbox order by id").fetchall())


class Sleeps:
    """Records requested sleeps instead of sleeping: waits are asserted, never timed."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(round(seconds, 3))
