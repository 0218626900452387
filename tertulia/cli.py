"""The `tertulia` command. Heavy libraries (Prefect, dbt, Great Expectations) load only in the commands
that use them, so `tertulia --help` and `tertulia status` answer at once."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Tertulia: community data pipeline (imports, dbt marts, SLA and crisis alerts).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="community.yml to use.")]
DEFAULT_CONFIG = Path(os.environ.get("TERTULIA_CONFIG", "community.yml"))

for _k, _v in {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
    # Without a Prefect server configured, a run starts a temporary one; on a busy 2-core machine it can
    # need more than Prefect's default 20 s to come up.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
}.items():
    os.environ.setdefault(_k, _v)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _config_path(path: Path) -> Path:
    """The file a command reads: the example stands in for a missing default community.yml."""
    if not path.exists() and path == Path("community.yml") and Path("community.example.yml").exists():
        return Path("community.example.yml")
    return path


def _config(path: Path):
    from tertulia.config import ConfigError, load_config

    used = _config_path(path)
    if used != path:
        # Said on stderr, so piped output stays the command's own: without it a new user's first
        # `tertulia run` quietly runs the sample's settings and bundle folder, not their community's.
        typer.secho(
            f"No {path} here: using {used} (the sample community's settings). "
            f"Copy it to {path} and edit it for your own community.",
            fg=typer.colors.YELLOW,
            err=True,
        )
    try:
        return load_config(used)
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def _duckdb_only(cfg, command: str) -> None:
    """Refuse, before any work starts, a command whose steps do not run on PostgreSQL yet."""
    if cfg.on_postgres:
        raise _fail(
            f"`tertulia {command}` runs on a DuckDB warehouse only so far, and the warehouse is PostgreSQL "
            f"({cfg.warehouse_location}, from TERTULIA_WAREHOUSE or warehouse.url). On PostgreSQL: "
            "`tertulia sample <dir>`, then `tertulia run --bundle-dir <dir>` (docs/operations.md, "
            "'PostgreSQL: what runs where')."
        )


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"tertulia {version('tertulia')}")
        except PackageNotFoundError:  # running from a source tree that was never installed
            typer.echo("tertulia (not installed; run `make install`)")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Tertulia: community data pipeline (imports, dbt marts, SLA and crisis alerts)."""


def _now_text(value: str | None) -> str | None:
    """`--now` checked and normalised to naive UTC before anything starts (a server, a run)."""
    from tertulia.pipeline import parse_instant

    try:
        parsed = parse_instant(value)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    return parsed.isoformat() if parsed else None


def _use_running_server() -> str | None:
    """Point Prefect at the server `tertulia serve` started, when it answers, so CLI runs show in its UI.

    An explicit PREFECT_API_URL wins; with neither, Prefect starts a temporary server as before.
    """
    if os.environ.get("PREFECT_API_URL"):
        return None
    from tertulia.serve import running_api_url

    api_url = running_api_url()
    if api_url:
        os.environ["PREFECT_API_URL"] = api_url
        os.environ.setdefault("PREFECT_UI_URL", api_url.removesuffix("/api"))
        typer.echo(f"Using the Prefect server started by `tertulia serve`: {api_url.removesuffix('/api')}")
    return api_url


@app.command()
def sample(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the bundle into.")],
    days: Annotated[int, typer.Option(help="Days of history.")] = 90,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed writes the same bundle.")] = 7,
    scale: Annotated[int, typer.Option(help="Multiply the community's size (1: about 10k comments).")] = 1,
    end: Annotated[
        str | None, typer.Option(help="Last day of the sample (YYYY-MM-DD); default today.")
    ] = None,
    scenario: Annotated[
        str,
        typer.Option(help="default (a sudden crisis) or slow_burn (negative share rising over three days)."),
    ] = "default",
    fmt: Annotated[
        str, typer.Option("--format", help="jsonl, csv or parquet for the comments file.")
    ] = "jsonl",
) -> None:
    """Write a deterministic sample community (a Quito coffee brand) as an import bundle."""
    from tertulia.sample import write_sample

    try:
        end_date = dt.date.fromisoformat(end) if end else None
        facts = write_sample(
            out_dir, days=days, seed=seed, scale=scale, end=end_date, scenario=scenario, comments_format=fmt
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"Wrote {out_dir}: {facts.describe()}")


@app.command("import")
def import_(
    bundle_dir: Annotated[Path, typer.Argument(help="Bundle folder: one file or folder per entity.")],
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Land a bundle of CSV, JSONL or Parquet exports in the warehouse (safe to repeat)."""
    from tertulia import pipeline, warehouse

    cfg = _config(config)
    try:
        with warehouse.writer_lock(cfg.warehouse_location, wait_seconds=60, holder="import"):
            if not cfg.on_postgres:  # on PostgreSQL, import_files prepares the tables it writes
                pipeline.prepare_warehouse(cfg)
            report = pipeline.import_files(cfg, bundle_dir)
    except (warehouse.WarehouseBusy, FileNotFoundError, ConnectionError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(report.render())
    if report.errors:
        raise typer.Exit(1)


@app.command()
def ingest(
    names: Annotated[
        list[str] | None, typer.Argument(help="Sources to read (default: every enabled one).")
    ] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    since: Annotated[str | None, typer.Option(help="Backfill from this date or instant (ISO 8601).")] = None,
) -> None:
    """Read the live platform sources in community.yml and land what is new (safe to repeat)."""
    from tertulia import pipeline, warehouse

    cfg = _config(config)
    if not cfg.sources:
        raise _fail(f"{config}: no `sources:` configured; see docs/connectors.md")
    try:
        with warehouse.writer_lock(cfg.warehouse_location, wait_seconds=60, holder="ingest"):
            if not cfg.on_postgres:  # on PostgreSQL, ingest_sources prepares the tables it writes
                pipeline.prepare_warehouse(cfg)
            reports = pipeline.ingest_sources(cfg, names or None, since=since)
    except (warehouse.WarehouseBusy, KeyError, ValueError, ConnectionError) as exc:
        raise _fail(str(exc)) from None
    for report in reports.values():
        typer.echo(report.render())
    if any(r.status == "failed" for r in reports.values()):
        raise typer.Exit(1)


@app.command()
def enrich(
    config: ConfigOpt = DEFAULT_CONFIG,
    rescore: Annotated[
        bool,
        typer.Option(
            help="Also score again every comment an earlier engine version scored (after an upgrade; "
            "the next build updates the marts). Stopped half-way, run it again."
        ),
    ] = False,
) -> None:
    """Score language, sentiment, intent, priority and terms of the comments not scored yet (or edited)."""
    from enrichment.sentiment import ENGINE_VERSION
    from tertulia import pipeline, warehouse

    cfg = _config(config)
    try:
        with warehouse.writer_lock(cfg.warehouse_location, wait_seconds=60, holder="enrich"):
            done = pipeline.enrich(cfg, rescore=rescore)
    except (warehouse.WarehouseBusy, ConnectionError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        f"Enriched {done} comments" + (f" (every one now scored by {ENGINE_VERSION})." if rescore else ".")
    )


@app.command()
def build(
    config: ConfigOpt = DEFAULT_CONFIG,
    select: Annotated[
        str | None, typer.Option(help="dbt selector, e.g. 'marts' or '+fct_sla_events'.")
    ] = None,
    full_refresh: Annotated[bool, typer.Option(help="Rebuild incremental models from scratch.")] = False,
    docs: Annotated[bool, typer.Option(help="Also run `dbt docs generate`.")] = False,
) -> None:
    """Build the dbt models and run their tests."""
    from tertulia import pipeline, warehouse
    from tertulia.dbt_runner import DbtError, run_dbt

    cfg = _config(config)
    try:
        with warehouse.writer_lock(cfg.warehouse_location, wait_seconds=60):
            if cfg.on_postgres:
                # community.yml's tables are written with the data: on the server they are the ones the
                # last `tertulia import` (or `tertulia migrate`) wrote.
                typer.echo(
                    f"PostgreSQL warehouse {cfg.warehouse_location}: building on the raw and config tables "
                    "the last `tertulia import` or `tertulia migrate` wrote (after changing community.yml, "
                    "import or migrate again)."
                )
            else:
                pipeline.prepare_warehouse(cfg)
            result = pipeline.build(cfg, select=select, full_refresh=full_refresh)
            if docs:
                run_dbt(cfg, ["docs", "generate"])
    except (DbtError, warehouse.WarehouseBusy, ConnectionError) as exc:
        raise _fail(str(exc)) from None
    if select and not result.nodes:
        # dbt only warns and exits 0 when a selector matches nothing: a typo would look like success.
        raise _fail(
            f"--select {select!r} matches no model, test or seed of the dbt project; "
            "check the name (e.g. 'fct_sla_events', '+fct_sla_events', 'marts')"
        )
    typer.echo(f"Built {len(result.models_built)} models; {len(result.nodes)} nodes ran.")
    if result.notice:  # a model that ran out of memory and was run again alone
        typer.echo(result.notice)


@app.command()
def run(
    config: ConfigOpt = DEFAULT_CONFIG,
    bundle_dir: Annotated[
        Path | None, typer.Option(help="Bundle to import first (default: bundle_dir in config).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Print alerts instead of sending them, even with a Slack token.")
    ] = False,
    now: Annotated[
        str | None, typer.Option(help="Evaluate SLAs and signals as of this instant (ISO 8601).")
    ] = None,
) -> None:
    """Run the whole pipeline once (import, enrich, build, checks, alerts, publish) as a Prefect flow."""
    as_of = _now_text(now)
    _config(config)  # validated (and named, when it is the example) before the flow starts
    # The flow reads the file itself: give it the one that was just validated.
    report = _run_flow(_config_path(config), bundle_dir, dry_run, as_of)
    typer.echo(report.summary_text)


def _run_flow(config: Path, bundle_dir: Path | None, dry_run: bool, as_of: str | None):
    _use_running_server()
    from flows.pipeline import community_pipeline
    from tertulia.dbt_runner import DbtError
    from tertulia.warehouse import WarehouseBusy

    try:
        return community_pipeline(
            config_path=str(config),
            bundle_dir=str(bundle_dir) if bundle_dir else None,
            dry_run=dry_run,
            as_of=as_of,
        )
    except (DbtError, WarehouseBusy, ConnectionError) as exc:
        raise _fail(str(exc)) from None


@app.command()
def demo(
    config: ConfigOpt = Path("community.example.yml"),
    days: Annotated[int, typer.Option(help="Days of sample history.")] = 90,
) -> None:
    """Write the sample community, run the whole pipeline on it and print what it found."""
    cfg = _config(config)
    _duckdb_only(cfg, "demo")
    bundle = cfg.resolve(cfg.bundle_dir or "data/sample")
    from tertulia.sample import write_sample

    try:
        facts = write_sample(bundle, days=days, seed=7)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"Sample community written to {bundle}: {facts.describe()}")
    # Evaluate "now" as the end of the sample, so the sample's open items look like today's.
    report = _run_flow(config, bundle, True, facts.now.isoformat())
    typer.echo(report.summary_text)


@app.command()
def status(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """What the warehouse holds and when each source last landed."""
    from tertulia.status import render_status

    cfg = _config(config)
    try:
        typer.echo(render_status(cfg))
    except (FileNotFoundError, ConnectionError) as exc:
        raise _fail(str(exc)) from None


@app.command()
def quarantine(
    config: ConfigOpt = DEFAULT_CONFIG,
    entity: Annotated[str | None, typer.Option(help="Only this entity.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
) -> None:
    """List rows held back from landing, with the file, line and reason."""
    from connectors.quarantine import render_quarantine
    from tertulia.contract import ENTITIES

    if entity is not None and entity not in ENTITIES:
        raise _fail(f"--entity {entity!r} is not an entity; use one of {', '.join(ENTITIES)}")
    cfg = _config(config)
    try:
        typer.echo(render_quarantine(cfg, entity=entity, limit=limit))
    except (FileNotFoundError, ConnectionError) as exc:
        raise _fail(str(exc)) from None


@app.command()
def migrate(
    to: Annotated[
        str,
        typer.Option(
            "--to", help="The PostgreSQL warehouse: postgresql://user@host:5432/db (password in PGPASSWORD)."
        ),
    ],
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Copy the DuckDB warehouse's raw, config and state tables to PostgreSQL (then `tertulia run` there)."""
    from tertulia import warehouse
    from tertulia.migrate import migrate as copy_warehouse

    cfg = _config(config)
    # The DuckDB file is warehouse.path's even when TERTULIA_WAREHOUSE already names the server.
    source = cfg.resolve(cfg.warehouse.path) if cfg.on_postgres else cfg.warehouse_path
    try:
        target = warehouse.postgres_warehouse(to, where="--to", password_allowed=False)
        report = copy_warehouse(source, target)
    except (ValueError, TypeError, LookupError, ConnectionError, warehouse.WarehouseBusy) as exc:
        raise _fail(str(exc)) from None
    typer.echo(report.render())


@app.command()
def serve(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Start a local Prefect server and worker, and register the scheduled deployments."""
    from tertulia.serve import start

    if not config.exists():
        # Not the example's stand-in: every scheduled run would be deployed with a path that does not exist.
        raise _fail(
            f"{config}: no such file; the scheduled jobs need a real configuration. Copy "
            "community.example.yml to community.yml and edit it, or pass --config community.example.yml."
        )
    cfg = _config(config)
    typer.echo(start(cfg, config))


@app.command()
def stop() -> None:
    """Stop the Prefect server and worker that `tertulia serve` started."""
    from tertulia.serve import stop as stop_services

    typer.echo(stop_services())


def main() -> None:  # pragma: no cover
    sys.exit(app())
