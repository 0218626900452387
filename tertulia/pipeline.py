"""The pipeline's steps as plain functions: what the Prefect flows call, and what tests call directly.

Each step opens the warehouse for as long as it needs it and closes it, because dbt (in the same
process) opens the file itself. The caller holds `warehouse.writer_lock` for the whole run, so two
runs never interleave; steps do not take it again (flock is per open file, so they would deadlock).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from tertulia import warehouse
from tertulia.config import Config
from tertulia.config_tables import sync_config_tables
from tertulia.raw_schema import ensure_raw_tables

if TYPE_CHECKING:  # each step imports its package when it runs: GX and Slack load only when needed
    from alerts.delivery import DeliveryReport
    from connectors.files import ImportReport
    from connectors.runner import SourceReport
    from quality.gates import QualityReport
    from tertulia.dbt_runner import DbtResult
    from tertulia.publish import PublishReport


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def parse_instant(value: str | dt.datetime | None) -> dt.datetime | None:
    """`--now` / a flow's `as_of` as the naive UTC instant every model and rule compares with.

    An offset is exact (`2026-11-27T15:00:00-05:00` is 20:00 UTC); no offset means UTC. The one place
    that reads it: an aware value passed on would fail every "not in the future" comparison.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        t = value
    else:
        try:
            t = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(
                f"--now {value!r} is not an ISO 8601 instant; write it like 2026-11-27T15:00:00-05:00 "
                "(an offset is exact; without one it is UTC)"
            ) from None
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t


def prepare_warehouse(config: Config) -> None:
    """Create schemas and raw tables, and write community.yml's tables for dbt."""
    con = warehouse.connect(config.warehouse_path)
    try:
        ensure_raw_tables(con)
        from connectors.landing import ensure_quarantine

        ensure_quarantine(con)
        sync_config_tables(con, config)
        from alerts.outbox import ensure_outbox  # small module, no Slack import

        ensure_outbox(con)
    finally:
        con.close()


def import_files(config: Config, bundle_dir: Path | None = None) -> ImportReport | None:
    """Land a bundle directory (default: config.bundle_dir) through the file connector."""
    from connectors.files import import_bundle

    bundle = bundle_dir or (config.resolve(config.bundle_dir) if config.bundle_dir else None)
    if bundle is None:
        return None
    if config.on_postgres:
        return _import_files_on_postgres(config, Path(bundle))
    con = warehouse.connect(config.warehouse_path)
    try:
        return import_bundle(con, Path(bundle), config)
    finally:
        con.close()


# The state tables a PostgreSQL import reads and writes besides raw: the quarantine (landing), and
# what community.yml's config tables keep between runs (the SLA policy versions, the calendar's bounds).
IMPORT_STATE_TABLES = ("quarantine", "calendar_bounds", "sla_policy_versions")


@contextlib.contextmanager
def _scratch_for_postgres(config: Config, purpose: str):
    """A scratch DuckDB file (in a temporary folder) and a connection to the PostgreSQL warehouse, for
    a step that runs its DuckDB code unchanged on the scratch file and writes the outcome to the server:
    committed when the block ends, rolled back on any error, the folder removed either way."""
    import shutil
    import tempfile

    import duckdb

    work = Path(tempfile.mkdtemp(prefix=f"tertulia-pg-{purpose}-"))
    duck = duckdb.connect(str(work / "scratch.duckdb"))
    warehouse.apply_resources(duck)
    try:
        pg = config.warehouse_location.connect(application_name=f"tertulia {purpose}")
        try:
            yield duck, pg, work
            pg.commit()
        except BaseException:
            pg.rollback()
            raise
        finally:
            pg.close()
    finally:
        duck.close()
        shutil.rmtree(work, ignore_errors=True)


def _import_files_on_postgres(config: Config, bundle: Path) -> ImportReport:
    """`tertulia import` on a PostgreSQL warehouse (the caller holds the advisory writer lock).

    The DuckDB steps run unchanged on a scratch DuckDB file: the files are read and checked by the
    file connector against the server's raw, quarantine and config state, copied into it first (COPY
    TO), so every rule, merge decision and quarantine release is the one DuckDB makes. What changed goes
    back in one PostgreSQL transaction: the raw rows of this import's batch by COPY and INSERT ... ON
    CONFLICT on the contract's keys (new keys and newer versions; a re-import has none), the quarantine
    and the config tables (with the state they keep) replaced whole. A crash leaves the server as it was.

    The scratch copy holds the raw tables of the entities a bundle can hold, so an import reads the
    whole raw history from the server: fine for a community's warehouse, slower than DuckDB's import
    at tens of millions of rows (docs/operations.md).
    """
    from connectors.files import import_bundle
    from tertulia import migrate
    from tertulia.business_calendar import write_business_intervals
    from tertulia.contract import ENTITIES
    from tertulia.schema import ensure_state

    with _scratch_for_postgres(config, "import") as (duck, pg, work):
        ensure_raw_tables(duck)
        ensure_state(duck, *IMPORT_STATE_TABLES)
        state = [("tertulia", t) for t in IMPORT_STATE_TABLES]
        landed = [("raw", name) for name in ENTITIES]
        migrate.pull_tables(pg, duck, landed + state, work)
        sync_config_tables(duck, config)
        report = import_bundle(duck, bundle, config)
        # What `tertulia build` does first on DuckDB (a PostgreSQL build uses the server's tables as
        # they are): the business calendar over what has landed now.
        write_business_intervals(duck, config)
        for _, name in landed:
            migrate.upsert_rows(
                duck, pg, "raw", name, list(ENTITIES[name].key), "_batch_id = ?", [report.batch_id], work
            )
        with pg.cursor() as cur:  # the raw tables imports never write (enrichment's): empty until then
            for schema, table in migrate.warehouse_tables(duck, ("raw",)):
                if table not in ENTITIES:
                    migrate.ensure_pg_table(duck, cur, schema, table)
        migrate.replace_tables(
            duck, pg, state + migrate.warehouse_tables(duck, ("config",)), work, empty="delete"
        )
    return report


def _enrich_on_postgres(config: Config) -> int:
    """Enrichment on a PostgreSQL warehouse (the caller holds the advisory writer lock), as the import:
    enrichment.store runs unchanged on a scratch DuckDB holding the server's comments, their current
    enrichment rows and its watermarks; the rows it scored go back by COPY and INSERT ... ON CONFLICT
    (platform, comment_id), the terms of those comments are replaced (all of them when the terms rules
    changed and every comment was tokenised again), the watermarks replaced, in one transaction."""
    from enrichment.store import enrich_new_comments
    from tertulia import migrate
    from tertulia.schema import ensure_state

    state = [("tertulia", "enrichment_watermark"), ("tertulia", "terms_state")]
    with _scratch_for_postgres(config, "enrich") as (duck, pg, work):
        ensure_raw_tables(duck)
        ensure_state(duck, *(t for _, t in state))
        # not raw.comment_terms: only the scored comments' terms change, and those are written whole
        migrate.pull_tables(pg, duck, [("raw", "comments"), ("raw", "comment_enrichment"), *state], work)
        terms_rules = "select version from tertulia.terms_state"
        before = duck.execute(terms_rules).fetchall()
        now = utcnow()
        done = enrich_new_comments(duck, config, now=now)
        retokenised = duck.execute(terms_rules).fetchall() != before
        key = ["platform", "comment_id"]
        migrate.upsert_rows(duck, pg, "raw", "comment_enrichment", key, "enriched_at = ?", [now], work)
        with pg.cursor() as cur:
            migrate.ensure_pg_table(duck, cur, "raw", "comment_terms")
            if retokenised:  # the scratch file holds every scored comment's terms
                cur.execute("delete from raw.comment_terms")
            else:  # it holds the terms of the comments scored now
                cur.execute(
                    "delete from raw.comment_terms as t using raw.comment_enrichment as e "
                    "where e.platform = t.platform and e.comment_id = t.comment_id and e.enriched_at = %s",
                    [now],
                )
        migrate.replace_tables(duck, pg, [("raw", "comment_terms")], work, empty=None)
        migrate.replace_tables(duck, pg, state, work, empty="delete")
    return done


def ingest_sources(
    config: Config, names: list[str] | None = None, since: str | None = None
) -> dict[str, SourceReport]:
    """Land what is new in the live platform sources (community.yml `sources:`); {} when none is set."""
    if not config.sources:
        return {}
    from connectors.runner import parse_since, run_sources

    return run_sources(config, names, since=parse_since(since))


def enrich(config: Config) -> int:
    """Score language, sentiment, intent and priority of comments not scored yet (or edited since)."""
    from enrichment.store import enrich_new_comments

    if config.on_postgres:
        return _enrich_on_postgres(config)
    con = warehouse.connect(config.warehouse_path)
    try:
        return enrich_new_comments(con, config)
    finally:
        con.close()


def build(
    config: Config,
    *,
    select: str | None = None,
    full_refresh: bool = False,
    as_of: dt.datetime | None = None,
    run_tests: bool = True,
) -> DbtResult:
    from tertulia.business_calendar import write_business_intervals
    from tertulia.dbt_runner import build as dbt_build

    # The business calendar is written by prepare_warehouse, before the run's import: on a first run
    # it could not see the history being imported and started a year back, so older items got wrong
    # business minutes and deadlines until a later run. Written again here, over what has landed now
    # (only rows landed since the last look are scanned), so the SLA models see the run's data covered.
    # On PostgreSQL the intervals are the ones `tertulia migrate` copied with the data they cover.
    if not config.on_postgres:
        con = warehouse.connect(config.warehouse_path)
        try:
            write_business_intervals(con, config)
        finally:
            con.close()
    return dbt_build(config, select=select, full_refresh=full_refresh, as_of=as_of, run_tests=run_tests)


def check_quality(config: Config, *, now: dt.datetime | None = None) -> QualityReport:
    """Great Expectations gates on the new raw data and on the marts alerts and BI read."""
    from quality.gates import run_quality_gates

    con = warehouse.connect(config.warehouse_path)
    try:
        return run_quality_gates(con, config, now=now or utcnow())
    finally:
        con.close()


def held_kinds_in_force(config: Config) -> frozenset[str]:
    """Alert kinds the latest quality run holds back (the nightly run's gates), for runs that do not
    check quality themselves (the 5- and 10-minute watches): a later passing quality run releases them."""
    from quality.results import holds_in_force

    if not config.warehouse_path.exists():
        return frozenset()
    con = warehouse.connect(config.warehouse_path)
    try:
        return holds_in_force(con)
    finally:
        con.close()


def evaluate_and_send_alerts(
    config: Config,
    *,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    held_kinds: frozenset[str] = frozenset(),
) -> DeliveryReport:
    """Turn mart rows into alerts, write them to the outbox, deliver what is pending."""
    from alerts.delivery import deliver_pending
    from alerts.outbox import enqueue, spooled
    from alerts.rules import evaluate_all

    now = now or utcnow()
    waiting = spooled(config.warehouse_path)  # failed-run alerts that could not get the lock in time
    con = warehouse.connect(config.warehouse_path)
    try:
        new_alerts = evaluate_all(con, config, now=now)
        enqueue(con, [a for _, a in waiting] + new_alerts, now=now, held_kinds=held_kinds)
        for path, _ in waiting:  # committed: the outbox has them now
            path.unlink(missing_ok=True)
        return deliver_pending(con, config, now=now, dry_run=dry_run)
    finally:
        con.close()


# How long a failed run's alert waits for another run to let go of the warehouse before it is spooled.
PIPELINE_ALERT_LOCK_WAIT_SECONDS = 120.0


def send_pipeline_alert(
    config: Config,
    alert,
    *,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    wait_seconds: float = PIPELINE_ALERT_LOCK_WAIT_SECONDS,
    logger=None,
) -> str:
    """Put a failed run's alert in the outbox and deliver what is pending; says what became of it.

    It waits for the writer lock like any writer; if another run keeps it longer than `wait_seconds`,
    the alert goes to the spool (alerts.outbox.spool) and the next run that sends alerts delivers it.
    Holds the latest quality run applied stay as they are (enqueue re-applies the holds it is given).
    """
    from alerts.delivery import deliver_pending
    from alerts.outbox import enqueue, spool
    from quality.results import holds_in_force

    now = now or utcnow()
    try:
        with warehouse.writer_lock(
            config.warehouse_path, wait_seconds=wait_seconds, holder="pipeline alert", logger=logger
        ):
            prepare_warehouse(config)
            con = warehouse.connect(config.warehouse_path)
            try:
                enqueue(con, [alert], now=now, held_kinds=holds_in_force(con))
                report = deliver_pending(con, config, now=now, dry_run=dry_run)
            finally:
                con.close()
    except warehouse.WarehouseBusy as exc:
        path = spool(config.warehouse_path, alert)
        return f"warehouse busy ({exc}); alert spooled to {path}, the next alert run sends it"
    return report.render()


def publish(config: Config) -> PublishReport:
    """Copy the marts to the read-only file and Parquet folder BI tools read (atomic swap)."""
    from tertulia.publish import publish_marts

    return publish_marts(config)


def send_digest(config: Config, *, day: dt.date | None = None, dry_run: bool = False) -> DeliveryReport:
    """Yesterday's numbers (in the community's timezone) to the digest channel, once per day."""
    from alerts.delivery import deliver_pending
    from alerts.digest import daily_digest
    from alerts.outbox import enqueue

    now = utcnow()
    if day is None:
        day = dt.datetime.now(config.tz).date() - dt.timedelta(days=1)
    con = warehouse.connect(config.warehouse_path)
    try:
        enqueue(con, [daily_digest(con, config, day=day)], now=now)
        return deliver_pending(con, config, now=now, dry_run=dry_run)
    finally:
        con.close()


def weekly_report(
    config: Config, *, now: dt.datetime | None = None, dry_run: bool = False
) -> tuple[str, DeliveryReport]:
    """Last week's report (local Monday to Sunday): its Markdown for the UI, and one Slack message to
    the digest channel, once per week whatever the number of runs. Returns (markdown, delivery report)."""
    from alerts.delivery import deliver_pending
    from alerts.model import Alert
    from alerts.outbox import enqueue
    from tertulia.weekly import last_complete_week, to_markdown
    from tertulia.weekly import weekly_report as build_report

    now = now or utcnow()
    con = warehouse.connect(config.warehouse_path)
    try:
        report = build_report(con, config, last_complete_week(now, config))
        alert = Alert(
            kind="digest",  # same channel, quiet hours and quality holds as the daily digest
            severity="info",
            dedupe_key=f"weekly:{report.week_key}",
            title=f"{config.community.name}: the week of {report.period_label}",
            facts=tuple(report.facts),
            extra={"list": report.rising_line()},  # escaped by the renderer: the terms are members' words
            reason="weekly report; goals and the most active members are in the Prefect UI's weekly-report artifact",
        )
        enqueue(con, [alert], now=now)
        return to_markdown(report), deliver_pending(con, config, now=now, dry_run=dry_run)
    finally:
        con.close()
