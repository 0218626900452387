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
    """Create schemas and raw tables, and write community.yml's tables for dbt.

    On PostgreSQL only the state tables are made here: the raw and config tables are written by the
    import, which holds them in its scratch copy (`_import_files_on_postgres`)."""
    if config.on_postgres:
        from tertulia.schema import ensure_state

        con = warehouse.connect(config.warehouse_location)
        try:
            ensure_state(con)
        finally:
            con.close()
        return
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
    """`tertulia import` on a PostgreSQL warehouse (the caller holds the advisory writer lock): the file
    connector runs unchanged on a scratch DuckDB (`_land_on_postgres`), which first receives, for each
    entity of the bundle, the server's rows of the keys its files hold (`connectors.files.bundle_keys`,
    read by the import's own readers). An entity whose files the key pass cannot read is copied whole."""
    from connectors.files import bundle_keys, import_bundle

    def land(duck, history: _History) -> tuple[ImportReport, list[str]]:
        for entity, keys in bundle_keys(duck, bundle).items():
            if keys is None:
                history.copy_whole(entity)
            else:
                history.copy_keys(entity, keys)
        report = import_bundle(duck, bundle, config)
        return report, [report.batch_id]

    return _land_on_postgres(config, "import", land)


def ingest_on_postgres(
    config: Config,
    names: list[str] | None = None,
    since: str | None = None,
    *,
    now: dt.datetime | None = None,
) -> dict[str, SourceReport]:
    """`tertulia ingest` (the live sources) on a PostgreSQL warehouse; the caller holds the advisory
    writer lock. The connectors and the runner run unchanged on a scratch DuckDB (`_land_on_postgres`)
    holding the sources' cursors (`tertulia.connector_state`, copied whole: one row a source); before
    each batch of records lands, the server's rows of its keys are copied in (the runner's `history`
    hook), so each landing decision is DuckDB's. The landed rows and the new cursors go back in one
    transaction at the end: a run that fails half-way leaves the server as it was, cursors included,
    and the next run reads those pages again."""
    from connectors.landing import record_keys
    from connectors.runner import parse_since, run_sources

    def land(duck, history: _History) -> tuple[dict[str, SourceReport], list[str]]:
        def copy_history(entity: str, records: list[dict]) -> None:
            record_keys(duck, entity, records, "_record_keys")
            history.copy_keys(entity, "_record_keys")

        reports = run_sources(
            config, names, since=parse_since(since), now=now, con=duck, history=copy_history
        )
        return reports, [r.batch_id for r in reports.values() if r.batch_id]

    return _land_on_postgres(config, "ingest", land, state_tables=(*IMPORT_STATE_TABLES, "connector_state"))


class _History:
    """The part of the server's raw history a scratch DuckDB holds, copied in as the landing needs it:
    the rows sharing their `connectors.landing.raw_lookup_columns` with what is about to land (the
    merge by key and version, a lifetime counter's earlier captures), each copied once (the scratch's
    raw tables have no key to stop a second copy), and, from the start, the comments the business
    calendar has not scanned yet (all of them before the first scan)."""

    def __init__(self, duck, pg, work: Path, config: Config) -> None:
        from tertulia.business_calendar import scanned_through

        self.duck, self.pg, self.work = duck, pg, work
        self.whole: set[str] = set()
        through = scanned_through(duck, config.quality.earliest_timestamp)
        if through is None:
            self.copy_whole("comments")
        else:
            from tertulia import migrate

            unscanned = migrate.bind(pg, "t._loaded_at is null or t._loaded_at > %s", [through])
            migrate.pull_tables(pg, duck, [("raw", "comments")], work, where={("raw", "comments"): unscanned})
            self._copied("comments", "raw.comments")

    def _copied(self, entity: str, rows_sql: str | None = None) -> str:
        """The temp table of the keys of raw.<entity> copied so far (made empty if missing), with
        the keys of `rows_sql` (a relation) added; its name."""
        from connectors.landing import lookup_keys_select
        from tertulia.contract import ENTITIES

        table = f"_copied_{entity}"
        raw = f"raw.{entity}"
        self.duck.execute(
            f"create temp table if not exists {table} as {lookup_keys_select(ENTITIES[entity], raw)} limit 0"  # noqa: S608
        )
        if rows_sql is not None:
            self.duck.execute(f"insert into {table} {lookup_keys_select(ENTITIES[entity], rows_sql)}")  # noqa: S608
        return table

    def copy_whole(self, entity: str) -> None:
        """Every row of raw.<entity> (before anything of it landed in the scratch)."""
        from tertulia import migrate

        self.duck.execute(f"delete from raw.{entity}")  # noqa: S608 - a contract name
        migrate.pull_tables(self.pg, self.duck, [("raw", entity)], self.work)
        self.whole.add(entity)

    def copy_keys(self, entity: str, keys_table: str) -> None:
        """The server's rows of raw.<entity> matching a row of the temp table `keys_table` (lookup
        columns, as `connectors.landing.lookup_keys_select` makes them) and not copied before."""
        from connectors.landing import raw_lookup_columns
        from tertulia import migrate
        from tertulia.contract import ENTITIES

        if entity in self.whole:
            self.duck.execute(f"drop table temp.{keys_table}")
            return
        columns = raw_lookup_columns(ENTITIES[entity])
        copied = self._copied(entity)
        self.duck.execute(
            f"create or replace temp table _new_keys as select * from {keys_table} except select * from {copied}"  # noqa: S608
        )
        if self.duck.execute("select count(*) from _new_keys").fetchone()[0]:
            sent = migrate.send_keys(self.duck, self.pg, "_new_keys", columns, self.work)
            where = {("raw", entity): migrate.matching(sent, columns)}
            migrate.pull_tables(self.pg, self.duck, [("raw", entity)], self.work, where=where)
            self.duck.execute(f"insert into {copied} select * from _new_keys")  # noqa: S608
        self.duck.execute(f"drop table temp.{keys_table}")
        self.duck.execute("drop table temp._new_keys")


# Released quarantine rows are history: landing reads and changes only the open ones.
_OPEN_QUARANTINE = {("tertulia", "quarantine"): "t.released_at is null"}


def _land_on_postgres(
    config: Config, purpose: str, land, state_tables: tuple[str, ...] = IMPORT_STATE_TABLES
):
    """A landing step (`tertulia import`, `tertulia ingest`) on a PostgreSQL warehouse: the DuckDB code
    runs unchanged on a scratch DuckDB file holding what its checks read from the server (COPY TO):
    the state tables (`tertulia.<state_tables>`, of the quarantine its open rows) and the raw rows the
    batch needs (`_History`; `land(duck, history)` copies them in as it goes and returns its result and
    the batch ids it landed under). Every rule, merge decision and quarantine release is then the one
    DuckDB makes. What changed goes back in one PostgreSQL transaction: the raw rows of those batches
    by COPY and INSERT ... ON CONFLICT on the contract's keys (new keys and newer versions; a re-run
    has none), the config tables (the business calendar over what has landed, as `tertulia build`
    writes it first on DuckDB) and the state tables replaced (the quarantine's open rows). A crash
    leaves the server as it was."""
    from tertulia import migrate
    from tertulia.business_calendar import write_business_intervals
    from tertulia.contract import ENTITIES
    from tertulia.schema import ensure_state

    with _scratch_for_postgres(config, purpose) as (duck, pg, work):
        ensure_raw_tables(duck)
        ensure_state(duck, *state_tables)
        state = [("tertulia", t) for t in state_tables]
        migrate.pull_tables(pg, duck, state, work, where=_OPEN_QUARANTINE)
        sync_config_tables(duck, config)
        result, batch_ids = land(duck, _History(duck, pg, work, config))
        write_business_intervals(duck, config)
        for name, ent in ENTITIES.items():
            where = "list_contains(?, _batch_id)"
            migrate.upsert_rows(duck, pg, "raw", name, list(ent.key), where, [batch_ids], work)
        with pg.cursor() as cur:  # the raw tables landing never writes (enrichment's): empty until then
            for schema, table in migrate.warehouse_tables(duck, ("raw",)):
                if table not in ENTITIES:
                    migrate.ensure_pg_table(duck, cur, schema, table)
        replaced = state + migrate.warehouse_tables(duck, ("config",))
        migrate.replace_tables(duck, pg, replaced, work, empty="delete", where=_OPEN_QUARANTINE)
    return result


def _enrich_on_postgres(config: Config, *, rescore: bool = False) -> int:
    """Enrichment on a PostgreSQL warehouse (the caller holds the advisory writer lock), as the import:
    enrichment.store runs unchanged on a scratch DuckDB holding the server's comments still to score
    (its to-do rule, `enrichment.store.TODO_FROM`, run on the server) and its watermarks; the rows it
    scored go back by COPY and INSERT ... ON CONFLICT (platform, comment_id), the terms of those
    comments are replaced, the watermarks replaced, in one transaction. When the terms rules changed
    (every scored comment is tokenised again) or nothing was scored yet, every comment and enrichment
    row is copied, as that run reads them all."""
    from enrichment.sentiment import ENGINE_VERSION
    from enrichment.store import TODO_FROM, enrich_new_comments, todo_since
    from tertulia import migrate
    from tertulia.schema import ensure_state
    from tertulia.terms import TERMS_VERSION

    state = [("tertulia", "enrichment_watermark"), ("tertulia", "terms_state")]
    everything = [("raw", "comments"), ("raw", "comment_enrichment")]
    with _scratch_for_postgres(config, "enrich") as (duck, pg, work):
        ensure_raw_tables(duck)
        ensure_state(duck, *(t for _, t in state))
        migrate.pull_tables(pg, duck, state, work)
        terms = duck.execute("select version from tertulia.terms_state where id = 1").fetchall()
        scored_any, loaded_through = False, None
        with pg.cursor() as cur:
            cur.execute("select to_regclass('raw.comment_enrichment'), to_regclass('raw.comments')")
            scored_table, comments_table = cur.fetchone()
            if scored_table:
                cur.execute("select exists (select 1 from raw.comment_enrichment)")
                scored_any = cur.fetchone()[0]
            if comments_table:  # the store's watermark: how far the warehouse's comments were read
                cur.execute("select max(_loaded_at) from raw.comments")
                loaded_through = cur.fetchone()[0]
        if terms != [(TERMS_VERSION,)] or not scored_any:
            # not raw.comment_terms: only the scored comments' terms change, and those are written whole
            migrate.pull_tables(pg, duck, everything, work)
        else:
            watermark = duck.execute("select loaded_through from tertulia.enrichment_watermark").fetchall()
            since = (
                None if rescore else todo_since(watermark[0][0] if watermark else None, scored_any, config)
            )
            todo = f"(t.platform, t.comment_id) in (select c.platform, c.comment_id {TODO_FROM})"  # noqa: S608
            todo = todo.replace("$rescore_version", "%s").replace("$since", "%s")
            condition = migrate.bind(pg, todo, [ENGINE_VERSION if rescore else None, since, since])
            migrate.pull_tables(pg, duck, everything[:1], work, where={everything[0]: condition})
        terms_rules = "select version from tertulia.terms_state"
        before = duck.execute(terms_rules).fetchall()
        now = utcnow()
        # the scratch holds no enrichment rows: what the server's rule copied is all scored, re-score or not
        done = enrich_new_comments(duck, config, now=now, loaded_through=loaded_through)
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
    config: Config,
    names: list[str] | None = None,
    since: str | None = None,
    *,
    now: dt.datetime | None = None,
) -> dict[str, SourceReport]:
    """Land what is new in the live platform sources (community.yml `sources:`); {} when none is set.
    `now`: the instant the run reads as its own (tests pin it; default the clock). On a PostgreSQL
    warehouse, through its scratch DuckDB (`ingest_on_postgres`)."""
    if not config.sources:
        return {}
    if config.on_postgres:
        return ingest_on_postgres(config, names, since, now=now)
    from connectors.runner import parse_since, run_sources

    return run_sources(config, names, since=parse_since(since), now=now)


def enrich(config: Config, *, rescore: bool = False) -> int:
    """Score language, sentiment, intent and priority of comments not scored yet (or edited since);
    with `rescore`, also every comment an earlier engine version scored."""
    from enrichment.store import enrich_new_comments

    if config.on_postgres:
        return _enrich_on_postgres(config, rescore=rescore)
    con = warehouse.connect(config.warehouse_path)
    try:
        return enrich_new_comments(con, config, rescore=rescore)
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

    con = warehouse.connect(config.warehouse_location)
    try:
        return run_quality_gates(con, config, now=now or utcnow())
    finally:
        con.close()


def held_kinds_in_force(config: Config) -> frozenset[str]:
    """Alert kinds the latest quality run holds back (the nightly run's gates), for runs that do not
    check quality themselves (the 5- and 10-minute watches): a later passing quality run releases them."""
    from quality.results import holds_in_force

    if not warehouse.exists(config.warehouse_location):
        return frozenset()
    con = warehouse.connect(config.warehouse_location)
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
    waiting = spooled(_spool_anchor(config))  # failed-run alerts that could not get the lock in time
    con = warehouse.connect(config.warehouse_location)
    try:
        new_alerts = evaluate_all(con, config, now=now)
        enqueue(con, [a for _, a in waiting] + new_alerts, now=now, held_kinds=held_kinds)
        for path, _ in waiting:  # committed: the outbox has them now
            path.unlink(missing_ok=True)
        return deliver_pending(con, config, now=now, dry_run=dry_run)
    finally:
        con.close()


def _spool_anchor(config: Config) -> Path:
    """What alerts.outbox's spool takes to find its folder (beside the warehouse file, or, on PostgreSQL,
    in the folder of the local work files)."""
    return config.local_dir / "warehouse"


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
    or the warehouse cannot be reached (a PostgreSQL server down, a wrong password), the alert goes to
    the spool (alerts.outbox.spool) and the next run that sends alerts delivers it.
    Holds the latest quality run applied stay as they are (enqueue re-applies the holds it is given).
    """
    from alerts.delivery import deliver_pending
    from alerts.outbox import enqueue, spool
    from quality.results import holds_in_force

    now = now or utcnow()
    try:
        with warehouse.writer_lock(
            config.warehouse_location, wait_seconds=wait_seconds, holder="pipeline alert", logger=logger
        ):
            prepare_warehouse(config)
            con = warehouse.connect(config.warehouse_location)
            try:
                enqueue(con, [alert], now=now, held_kinds=holds_in_force(con))
                report = deliver_pending(con, config, now=now, dry_run=dry_run)
            finally:
                con.close()
    except warehouse.WarehouseBusy as exc:
        path = spool(_spool_anchor(config), alert)
        return f"warehouse busy ({exc}); alert spooled to {path}, the next alert run sends it"
    except ConnectionError as exc:  # the server down or refusing us: often the very failure being reported
        path = spool(_spool_anchor(config), alert)
        return (
            f"warehouse unreachable ({exc}); alert spooled to {path}, the next run that reaches it sends it"
        )
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
    con = warehouse.connect(config.warehouse_location)
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
    con = warehouse.connect(config.warehouse_location)
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
