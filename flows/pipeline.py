"""`community_pipeline`: the whole pipeline once, as a Prefect flow.

The flow is the job's table of contents; every step is a plain function in tertulia.pipeline.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from prefect import flow, get_run_logger, task

from flows import artifacts, failure_alerts
from tertulia import pipeline, warehouse
from tertulia.config import load_config


@task(name="Prepare warehouse and configuration")
def prepare(config):
    probe = os.environ.get("TERTULIA_STARTUP_PROBE")
    if probe:  # bench/phase.py measures start-up as the time until the first task starts
        Path(probe).write_text(repr(time.time()))
    pipeline.prepare_warehouse(config)


@task(name="Import file exports", retries=2, retry_delay_seconds=10)
def import_files(config, bundle_dir):
    return pipeline.import_files(config, bundle_dir)


@task(name="Read live platform sources")
def ingest_sources(config):
    # No task retries: the connectors retry calls themselves, and a stopped source resumes next run.
    return pipeline.ingest_sources(config)


@task(name="Enrich new comments (language, sentiment, intent)")
def enrich(config):
    return pipeline.enrich(config)


@task(name="Build marts (dbt)")
def build(config, select, as_of):
    return pipeline.build(config, select=select, as_of=as_of)


@task(name="Check data quality (Great Expectations)")
def check_quality(config, now):
    return pipeline.check_quality(config, now=now)


@task(name="Send alerts to Slack", retries=3, retry_delay_seconds=30)
def send_alerts(config, now, dry_run, held_kinds):
    return pipeline.evaluate_and_send_alerts(config, now=now, dry_run=dry_run, held_kinds=held_kinds)


@task(name="Publish marts for BI tools")
def publish(config):
    return pipeline.publish(config)


@flow(name="community_pipeline", log_prints=True, **failure_alerts.HOOKS)
def community_pipeline(
    config_path: str = "community.example.yml",
    bundle_dir: str | None = None,
    select: str | None = None,
    dry_run: bool = False,
    as_of: str | None = None,
):
    """Import, enrich, build, check, alert and publish, once."""
    logger = get_run_logger()
    config = load_config(config_path)
    pinned = pipeline.parse_instant(as_of)
    now = pinned or pipeline.utcnow()
    report = pipeline.RunReport(started_at=now)
    with warehouse.writer_lock(config.warehouse_path, holder="community_pipeline", logger=logger):
        prepare(config)
        report.imported = import_files(config, Path(bundle_dir) if bundle_dir else None)
        report.sources = ingest_sources(config)
        report.enriched = enrich(config)
        built = build(config, select, pinned)
        report.models_built = built.models_built
        report.quality = check_quality(config, now)
        held = frozenset(getattr(report.quality, "held_kinds", ()) or ())
        report.alerts = send_alerts(config, now, dry_run, held)
        report.published = publish(config)
        views = artifacts.read_views(config, marts=True, sla=True, crisis=True, summary_of=report)
    report.summary_text = views.summary_text or ""
    artifacts.publish_import(report.imported)
    artifacts.publish_sources(report.sources)
    artifacts.publish_views(views)
    artifacts.publish_quality(report.quality)
    artifacts.publish_alerts(report.alerts)
    logger.info("Run finished: %s models built", len(report.models_built))
    return report
