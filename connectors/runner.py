"""Run live sources: pages in, batches landed, cursor saved with them, one source's failure contained.

For each page a connector yields, the runner checks it is in the raw contract, lands its records (one
`land_records` call per entity: a batch, never a row at a time) and then stores the page's cursor in
`tertulia.connector_state`, so a run killed at any point resumes from the last landed page; a re-read
page merges by key and adds nothing twice. A per-run page budget spreads a long backfill over runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from connectors.base import Connector, Page, SourceError
from connectors.http_client import MalformedResponse, mask_secrets
from connectors.sources import build_connector, selected_sources
from tertulia import warehouse
from tertulia.config import Config
from tertulia.contract import ENTITIES
from tertulia.progress import progress
from tertulia.raw_schema import ensure_raw_tables
from tertulia.schema import ensure_state

COUNTS = ("inserted", "updated", "unchanged", "quarantined")
# Called with (entity, records) before a batch of them lands: a warehouse whose raw tables hold only part
# of history (a PostgreSQL warehouse's scratch DuckDB, tertulia.pipeline) copies in the rows landing
# them reads. None on a DuckDB warehouse, which holds all of it.
History = Callable[[str, list[dict]], None]


@dataclass
class SourceReport:
    source: str
    platform: str
    # ok: caught up | partial: page budget reached, continues next run | stopped: paused for this run
    # (quota, long throttling, platform down) | failed: needs a person (token, permission) | skipped
    status: str = "ok"
    pages: int = 0
    requests: int = 0
    landed: dict[str, dict[str, int]] = field(default_factory=dict)
    waits: list[float] = field(default_factory=list)
    message: str = ""
    # What landing said about held-back rows (quarantine reasons), so a person sees them with the run.
    notes: list[str] = field(default_factory=list)
    # The `_batch_id` of the raw rows this run landed (a PostgreSQL warehouse sends those to the server).
    batch_id: str = ""

    def count(self, entity: str, what: str = "inserted") -> int:
        return self.landed.get(entity, {}).get(what, 0)

    def render(self) -> str:
        parts = [f"{e}: " + ", ".join(f"{v} {k}" for k, v in c.items() if v) for e, c in self.landed.items()]
        line = f"{self.source} ({self.platform}): {self.status}, {self.pages} page(s)"
        if parts:
            line += "; " + "; ".join(p for p in parts if not p.endswith(": "))
        line += "".join(f"\n    {n}" for n in self.notes)
        return line + (f"\n    {self.message}" if self.message else "")


def ensure_state_table(con: duckdb.DuckDBPyConnection) -> None:
    ensure_state(con, "connector_state")


def load_cursor(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, Any] | None:
    row = con.execute("select cursor from tertulia.connector_state where source = ?", [source]).fetchone()
    if not row or row[0] is None:
        return None
    value = row[0]
    return json.loads(value) if isinstance(value, str) else value


def save_cursor(
    con: duckdb.DuckDBPyConnection, source: str, cursor: dict[str, Any], now: dt.datetime
) -> None:
    con.execute(
        """
        insert into tertulia.connector_state (source, cursor, updated_at, last_error) values (?, ?, ?, null)
        on conflict (source) do update set cursor = excluded.cursor, updated_at = excluded.updated_at,
            last_error = null
        """,
        [source, json.dumps(cursor, sort_keys=True), _naive(now)],
    )


def record_error(con: duckdb.DuckDBPyConnection, source: str, message: str, now: dt.datetime) -> None:
    con.execute(
        """
        insert into tertulia.connector_state (source, cursor, updated_at, last_error) values (?, null, ?, ?)
        on conflict (source) do update set last_error = excluded.last_error, updated_at = excluded.updated_at
        """,
        [source, _naive(now), message],
    )


def reset_cursor(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Forget where a source was: its next run starts from the configured start again."""
    con.execute("delete from tertulia.connector_state where source = ?", [source])


def _naive(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t


def check_page(source: str, number: int, page: Page) -> None:
    """Refuse a page that is not in the raw contract before any of it lands."""
    if not isinstance(page, Page) or not isinstance(page.records, dict):
        raise MalformedResponse(f"source {source}: page {number} is not a Page of records; nothing landed.")
    for entity, records in page.records.items():
        if entity not in ENTITIES:
            raise MalformedResponse(
                f"source {source}: page {number} has records for unknown entity {entity!r}; nothing from it landed."
            )
        for i, rec in enumerate(records):
            bad = [k for k, v in rec.items() if v is not None and not isinstance(v, str)]
            if bad:
                raise MalformedResponse(
                    f"source {source}: page {number}, {entity} record {i + 1}: values of {', '.join(bad)} are not "
                    "text; the connector must deliver the raw contract. Nothing from this page landed."
                )


def land_page(
    con: duckdb.DuckDBPyConnection,
    source: str,
    page: Page,
    *,
    batch_id: str,
    now: dt.datetime,
    notes: list[str] | None = None,
    config: Config | None = None,
    history: History | None = None,
) -> dict[str, dict[str, int]]:
    """Land every entity of a page (one batch each), then store the page's cursor.

    With `config`, timestamps are read in the community's timezone and held to its plausible range
    (`quality.earliest_timestamp`, `quality.future_tolerance_minutes`), as file imports are.

    `land_records` commits each entity in its own transaction (it cannot join an outer one), so the
    cursor is written only after all of them: a run killed in between re-reads the page next time, and
    the merge by key makes that re-read land nothing twice. A page the connector could not read whole
    never reaches this point (it raises first), so no page is ever half landed.
    """
    from connectors.landing import land_records  # written beside this module; imported when landing

    counts: dict[str, dict[str, int]] = {}
    for entity, records in page.records.items():
        if not records:
            continue
        bounds = (
            {
                "timezone": config.community.timezone,
                "earliest": config.quality.earliest_timestamp,
                "future_tolerance": dt.timedelta(minutes=config.quality.future_tolerance_minutes),
            }
            if config is not None
            else {}
        )
        if history is not None:
            history(entity, records)
        result = land_records(con, entity, records, source=source, batch_id=batch_id, now=now, **bounds)
        counts[entity] = {k: int(getattr(result, k, 0) or 0) for k in COUNTS}
        if notes is not None:
            notes.extend(f"{entity}: {m}" for m in getattr(result, "messages", []) or [])
    save_cursor(con, source, page.cursor, now)
    return counts


def run_source(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    name: str,
    *,
    since: dt.datetime | None = None,
    now: dt.datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    history: History | None = None,
    report: SourceReport | None = None,
    **connector_kwargs: Any,
) -> SourceReport:
    """Run one source until it is caught up, its page budget is spent or it cannot go on.

    `report`: filled in as the run goes (default: a new one), so a caller whose run raised still
    knows what it landed under which batch id."""
    source = config.sources[name]
    report = report or SourceReport(source=name, platform=source.platform)
    now = now or dt.datetime.now(dt.UTC)
    ensure_state_table(con)
    batch_id = report.batch_id = f"{name}-{_naive(now):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    connector: Connector | None = None
    stack = contextlib.ExitStack()
    try:
        connector = build_connector(config, name, since=since, now=now, sleep=sleep, **connector_kwargs)
        cursor = load_cursor(con, name)
        steps = stack.enter_context(progress(f"Reading {name} ({source.platform}): pages"))
        for page in connector.fetch(cursor):
            report.pages += 1
            steps.advance()
            check_page(name, report.pages, page)
            for entity, counts in land_page(
                con,
                name,
                page,
                batch_id=batch_id,
                now=now,
                notes=report.notes,
                config=config,
                history=history,
            ).items():
                total = report.landed.setdefault(entity, dict.fromkeys(COUNTS, 0))
                for k, v in counts.items():
                    total[k] += v
            if connector.stop_reason:
                report.status, report.message = "stopped", connector.stop_reason
                break
            if report.pages >= source.max_pages_per_run:
                report.status = "partial"
                report.message = (
                    f"page budget reached ({source.max_pages_per_run} pages, sources.{name}.max_pages_per_run); "
                    "the next run continues from the last landed page."
                )
                break
    except SourceError as exc:
        report.status = "stopped" if exc.retryable else "failed"
        report.message = connector.masked(str(exc)) if connector else mask_secrets(str(exc), ())
        if report.pages and exc.retryable:
            report.message += f" ({report.pages} page(s) landed before it.)"
        record_error(con, name, report.message, now)
    finally:
        stack.close()
        if connector is not None:
            report.notes.extend(connector.notes)
            report.requests, report.waits = connector.usage()
            connector.close()
    return report


def run_sources(
    config: Config,
    names: list[str] | None = None,
    *,
    since: dt.datetime | None = None,
    now: dt.datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    con: duckdb.DuckDBPyConnection | None = None,
    history: History | None = None,
    **connector_kwargs: Any,
) -> dict[str, SourceReport]:
    """Run the named sources (default: every enabled one); one failing never stops the others.

    The caller holds the warehouse's writer lock (as for every pipeline step). `con` and `history`:
    see History (a PostgreSQL warehouse runs this on its scratch DuckDB).
    """
    own = con is None
    con = con or warehouse.connect(config.warehouse_path)
    reports: dict[str, SourceReport] = {}
    try:
        ensure_raw_tables(con)
        ensure_state_table(con)
        for name, source in selected_sources(config, names):
            started = SourceReport(source=name, platform=source.platform)
            try:
                reports[name] = run_source(
                    con,
                    config,
                    name,
                    since=since,
                    now=now,
                    sleep=sleep,
                    history=history,
                    report=started,
                    **connector_kwargs,
                )
            except Exception as exc:  # noqa: BLE001 - a bug in one connector must not stop the others
                message = (
                    f"source {name}: unexpected {type(exc).__name__}: {exc}. The other sources ran; the next run "
                    "retries from the last landed page. Please report this with the message."
                )
                # the pages landed before the error stay (their cursor too): the batch id names them
                reports[name] = SourceReport(
                    source=name,
                    platform=source.platform,
                    status="failed",
                    message=message,
                    batch_id=started.batch_id,
                )
                record_error(con, name, message, now or dt.datetime.now(dt.UTC))
    finally:
        if own:
            con.close()
    return reports


def parse_since(value: str | dt.date | dt.datetime | None) -> dt.datetime | None:
    """`--since 2026-01-01` (a date: its start in UTC) or an ISO timestamp."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    try:
        t = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since {value!r}: use a date (2026-01-31) or an ISO 8601 timestamp") from None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)
