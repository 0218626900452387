"""The alert outbox: every alert is written to the warehouse before anything tries to deliver it.

States of a row:
- `pending`: waiting to be delivered (also after a retry-able failure: `attempts` and `last_error` say why).
- `held`: a failed data-quality gate holds its kind back (`hold_reason`); released by a later run without the hold.
- `sending`: marked with a fresh `idempotency_marker` right before the Slack call. A row still `sending` at
  the start of a run was interrupted (crash, timeout, 5xx): delivery looks the marker up in Slack before
  sending again (see docs/slack.md).
- `sent`: delivered; `channel`, `channel_id` and `message_ts` say where.
- `failed`: Slack refused it for a reason retrying cannot fix (`last_error` says what to do); retried on
  later runs until `slack.give_up_after_hours`.
- `suppressed`: not sent on purpose (`suppressed_reason`: cooldown, in a digest, expired).

A `dedupe_key` is in the outbox at most once (primary key), so a rerun never enqueues the same alert twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

from alerts.model import Alert, Link
from tertulia.schema import ensure_state
from tertulia.warehouse import is_postgres

STATES = ("pending", "held", "sending", "sent", "failed", "suppressed")


def ensure_outbox(con: duckdb.DuckDBPyConnection) -> None:
    ensure_state(con, "alert_outbox", "alert_threads", "slack_channels")


def alert_to_json(alert: Alert) -> str:
    data = dataclasses.asdict(alert)
    for name in ("occurred_at", "stale_at"):
        if data[name] is not None:
            data[name] = data[name].isoformat()
    return json.dumps(data, ensure_ascii=False)


def alert_from_json(text: str) -> Alert:
    data: dict[str, Any] = json.loads(text)
    occurred = data.get("occurred_at")
    return Alert(
        kind=data["kind"],
        severity=data["severity"],
        dedupe_key=data["dedupe_key"],
        title=data["title"],
        facts=tuple((str(a), str(b)) for a, b in data.get("facts") or ()),
        member_text=tuple(data.get("member_text") or ()),
        links=tuple(
            # A row written before links named their platform: "" has no allowed host, so its button is
            # left out rather than trusted.
            Link(label=link["label"], url=link["url"], platform=link.get("platform", ""))
            for link in data.get("links") or ()
        ),
        owner=data.get("owner"),
        thread_key=data.get("thread_key"),
        occurred_at=dt.datetime.fromisoformat(occurred) if occurred else None,
        stale_at=dt.datetime.fromisoformat(data["stale_at"]) if data.get("stale_at") else None,
        reason=data.get("reason") or "",
        resolves=bool(data.get("resolves")),
        reopens=bool(data.get("reopens")),
        digest_group=data.get("digest_group"),
        extra=dict(data.get("extra") or {}),
    )


HELD_BY_QUALITY = (
    "held: a data-quality gate failed on the data this alert is computed from; it is sent by the next run "
    "whose checks pass (see `tertulia status` and docs/quality.md)"
)


def insert_row(
    con: duckdb.DuckDBPyConnection,
    alert: Alert,
    *,
    now: dt.datetime,
    batch_id: str,
    state: str = "pending",
    hold_reason: str | None = None,
) -> int:
    row = con.execute(
        """
        insert into tertulia.alert_outbox
            (id, dedupe_key, kind, severity, thread_key, digest_group, payload, batch_id, state, hold_reason,
             created_at, updated_at)
        values (nextval('tertulia.alert_outbox_seq'), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        returning id
        """,
        [
            alert.dedupe_key,
            alert.kind,
            alert.severity,
            alert.thread_key,
            alert.digest_group,
            alert_to_json(alert),
            batch_id,
            state,
            hold_reason,
            now,
            now,
        ],
    ).fetchone()
    assert row is not None
    return int(row[0])


def _insert_rows(
    con: duckdb.DuckDBPyConnection,
    alerts: list[Alert],
    *,
    now: dt.datetime,
    batch_id: str,
    held_kinds: frozenset[str],
) -> int:
    """Write `alerts` as new rows in one statement (the first run after a backfill enqueues tens of
    thousands; one INSERT each took minutes). Ids follow the order of `alerts`."""
    if not alerts:
        return 0
    ids = [
        r[0]
        for r in con.execute(
            "select nextval('tertulia.alert_outbox_seq') from generate_series(1, ?)", [len(alerts)]
        ).fetchall()
    ]
    held = [a.kind in held_kinds for a in alerts]
    columns = {
        "id": ids,
        "dedupe_key": [a.dedupe_key for a in alerts],
        "kind": [a.kind for a in alerts],
        "severity": [a.severity for a in alerts],
        "thread_key": [a.thread_key for a in alerts],
        "digest_group": [a.digest_group for a in alerts],
        "payload": [alert_to_json(a) for a in alerts],
        "batch_id": [batch_id] * len(alerts),
        "state": ["held" if h else "pending" for h in held],
        "hold_reason": [HELD_BY_QUALITY if h else None for h in held],
        "created_at": [now] * len(alerts),
        "updated_at": [now] * len(alerts),
    }
    if is_postgres(con):  # no frame to register on a server: the rows go in pages of one statement
        con.insert_rows("tertulia.alert_outbox", list(columns), list(zip(*columns.values(), strict=True)))
        return len(alerts)
    import pyarrow as pa

    types = {
        "id": pa.int64(),
        "thread_key": pa.string(),
        "digest_group": pa.string(),
        "hold_reason": pa.string(),
    }
    table = pa.table({k: pa.array(v, types.get(k)) for k, v in columns.items()})
    con.register("_new_alerts", table)
    try:
        con.execute(f"insert into tertulia.alert_outbox ({', '.join(columns)}) select * from _new_alerts")  # noqa: S608 - our names
    finally:
        con.unregister("_new_alerts")
    return len(alerts)


def enqueued_keys(con: duckdb.DuckDBPyConnection, keys: list[str]) -> set[str]:
    """Which of `keys` are already in the outbox (a hash join: the outbox only grows, and a per-row
    `list_contains` against tens of thousands of keys would cost outbox rows times keys)."""
    if not keys:
        return set()
    rows = con.execute(
        "select o.dedupe_key from tertulia.alert_outbox as o "
        "join (select unnest(?::varchar[]) as dedupe_key) as k on k.dedupe_key = o.dedupe_key",
        [keys],
    ).fetchall()
    return {r[0] for r in rows}


def enqueue(
    con: duckdb.DuckDBPyConnection,
    alerts: Iterable[Alert],
    *,
    now: dt.datetime,
    held_kinds: frozenset[str] = frozenset(),
) -> int:
    """Write alerts whose dedupe_key is new; hold or release kinds per `held_kinds`. Returns new rows written.

    Every call also re-applies the hold to rows already waiting: a kind held by this run's failed gate
    is held even if its rows were enqueued earlier, and a kind no longer held is released.
    """
    ensure_outbox(con)
    batch_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    fresh: dict[str, Alert] = {}
    for alert in alerts:
        if not alert.dedupe_key:
            raise ValueError(
                f"alert {alert.kind}/{alert.title!r} has an empty dedupe_key; the rule must set one"
            )
        fresh.setdefault(alert.dedupe_key, alert)  # the same key twice in one run: the first one wins
    written = 0
    con.execute("begin transaction")
    try:
        known = enqueued_keys(con, list(fresh))
        new = [alert for key, alert in fresh.items() if key not in known]
        written = _insert_rows(con, new, now=now, batch_id=batch_id, held_kinds=held_kinds)
        kinds = sorted(held_kinds)
        con.execute(
            "update tertulia.alert_outbox set state = 'held', hold_reason = ?, updated_at = ? "
            "where state in ('pending', 'failed') and kind in (select unnest(?::varchar[]))",
            [HELD_BY_QUALITY, now, kinds],
        )
        con.execute(
            "update tertulia.alert_outbox set state = 'pending', hold_reason = null, updated_at = ? "
            "where state = 'held' and kind not in (select unnest(?::varchar[]))",
            [now, kinds],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return written


def counts_by_state(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    ensure_outbox(con)
    rows = con.execute("select state, count(*) from tertulia.alert_outbox group by state").fetchall()
    return {state: int(n) for state, n in rows}


# --- the spool: alerts that could not reach the outbox yet -------------------------------------------
# A failed run's alert is raised right after the run let go of the warehouse; when another run holds
# the writer lock longer than the alert may wait, the alert is written here (one JSON file per alert,
# beside the warehouse) and the next run that sends alerts moves it into the outbox. Never lost, and
# never twice: the outbox's dedupe_key decides, and a file is removed only after its row is committed.


def spool_dir(warehouse_path) -> Path:
    return Path(warehouse_path).parent / "alert-spool"


def spool(warehouse_path, alert: Alert) -> Path:
    folder = spool_dir(warehouse_path)
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(alert.dedupe_key.encode()).hexdigest()[:32] + ".json"
    tmp = folder / (name + ".tmp")
    tmp.write_text(alert_to_json(alert), encoding="utf-8")
    os.replace(tmp, folder / name)  # atomic: a reader never sees half a file
    return folder / name


def spooled(warehouse_path) -> list[tuple[Path, Alert]]:
    folder = spool_dir(warehouse_path)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            out.append((path, alert_from_json(path.read_text(encoding="utf-8"))))
        except (ValueError, KeyError, TypeError):  # kept for a person to read, never silently dropped
            path.rename(path.with_suffix(".unreadable"))
    return out
