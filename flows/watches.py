"""The scheduled jobs of prefect.yaml, besides the whole-pipeline flow and the per-source ingest flow.

Each flow takes the warehouse writer lock for its whole run: two jobs that write the warehouse never
overlap, whichever work pool or worker runs them (the work pool's concurrency limit is a second fence).
"""

from __future__ import annotations

import datetime as dt

from prefect import flow, get_run_logger

from flows import artifacts, failure_alerts
from flows.tasks import (
    build,
    check_quality,
    enrich,
    holds_in_force,
    import_files,
    prepare,
    publish,
    send_alerts,
)
from tertulia import pipeline, warehouse
from tertulia.config import load_config

# Models the watches rebuild: the SLA mart and its daily aggregate; the crisis marts. `+` takes their
# parents (staging views, incremental intermediates) so a watch never reads a stale input.
SLA_MODELS = "+fct_sla_events +agg_response_times_daily"
CRISIS_MODELS = "+fct_crisis_signals +fct_crisis_incidents +fct_crisis_incidents_community"


def _now(as_of: str | None) -> dt.datetime:
    return pipeline.parse_instant(as_of) or pipeline.utcnow()


def _lock(config, holder: str):
    return warehouse.writer_lock(config.warehouse_location, holder=holder, logger=get_run_logger())


@flow(name="file_drop_import", log_prints=True, **failure_alerts.HOOKS)
def file_drop_import(config_path: str = "community.yml", bundle_dir: str | None = None):
    """Land whatever file exports were dropped in the bundle folder (safe to repeat)."""
    config = load_config(config_path)
    with _lock(config, "file_drop_import"):
        prepare(config)
        report = import_files(config, bundle_dir)
    artifacts.publish_import(report)
    return report


def _watch(config_path: str, models: str, dry_run: bool, as_of: str | None, holder: str, **views):
    """A watch's run: enrich what is new, rebuild `models` without their tests, send what is due.

    Watches run no quality gate of their own: the holds the latest quality run (the nightly build)
    applied stay in force, so a watch neither sends a held kind nor releases rows held in the outbox.
    """
    config = load_config(config_path)
    pinned = pipeline.parse_instant(as_of)
    now = pinned or pipeline.utcnow()
    with _lock(config, holder):
        prepare(config)
        enrich(config)
        build(config, models, pinned, False)
        held = holds_in_force(config)
        report = send_alerts(config, now, dry_run, held)
        seen = artifacts.read_views(config, **views)
    return seen, report


@flow(name="sla_watch", log_prints=True, **failure_alerts.HOOKS)
def sla_watch(config_path: str = "community.yml", dry_run: bool = False, as_of: str | None = None):
    """Every few minutes: enrich new comments, rebuild the response models, send SLA alerts."""
    views, report = _watch(config_path, SLA_MODELS, dry_run, as_of, "sla_watch", sla=True)
    artifacts.publish_views(views)
    artifacts.publish_alerts(report)
    return report


@flow(name="crisis_watch", log_prints=True, **failure_alerts.HOOKS)
def crisis_watch(config_path: str = "community.yml", dry_run: bool = False, as_of: str | None = None):
    """Every few minutes: enrich new comments, rebuild the crisis signals, send crisis alerts."""
    views, report = _watch(config_path, CRISIS_MODELS, dry_run, as_of, "crisis_watch", crisis=True)
    artifacts.publish_views(views)
    artifacts.publish_alerts(report)
    return report


@flow(name="nightly_build", log_prints=True, **failure_alerts.HOOKS)
def nightly_build(config_path: str = "community.yml", dry_run: bool = False, as_of: str | None = None):
    """Every night: every model and its tests, the data-quality gates, alerts, and a fresh BI copy."""
    config = load_config(config_path)
    pinned = pipeline.parse_instant(as_of)
    now = pinned or pipeline.utcnow()
    with _lock(config, "nightly_build"):
        prepare(config)
        enrich(config)
        build(config, None, pinned, True)
        quality = check_quality(config, now)
        held = frozenset(quality.held_kinds)
        report = send_alerts(config, now, dry_run, held)
        publish(config)
        views = artifacts.read_views(config, marts=True)
    artifacts.publish_views(views)
    artifacts.publish_quality(quality)
    artifacts.publish_alerts(report)
    return report


@flow(name="daily_digest", log_prints=True, **failure_alerts.HOOKS)
def daily_digest(config_path: str = "community.yml", dry_run: bool = False, day: str | None = None):
    """Every morning: yesterday's numbers and a 14-day chart to the community channel."""
    config = load_config(config_path)
    with _lock(config, "daily_digest"):
        prepare(config)
        report = pipeline.send_digest(
            config, day=dt.date.fromisoformat(day) if day else None, dry_run=dry_run
        )
    artifacts.publish_alerts(report)
    return report


@flow(name="weekly_report", log_prints=True, **failure_alerts.HOOKS)
def weekly_report(config_path: str = "community.yml", dry_run: bool = False, as_of: str | None = None):
    """Monday morning: last week in one page (response times, engagement, crises, goals) in the UI and Slack."""
    from prefect.artifacts import create_markdown_artifact

    config = load_config(config_path)
    with _lock(config, "weekly_report"):
        prepare(config)
        markdown, report = pipeline.weekly_report(config, now=_now(as_of), dry_run=dry_run)
    create_markdown_artifact(key="weekly-report", markdown=markdown, description="Last week in one page")
    artifacts.publish_alerts(report)
    return markdown
