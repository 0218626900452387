"""`community_pipeline`: the whole pipeline once, as a Prefect flow.

The flow is the job's table of contents; every step is a plain function in tertulia.pipeline.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from flows import artifacts, failure_alerts
from flows.tasks import (
    build,
    check_quality,
    enrich,
    import_files,
    ingest_sources,
    prepare,
    publish,
    send_alerts,
)
from tertulia import pipeline, warehouse
from tertulia.config import load_config
from tertulia.publish import publish_refusal
from tertulia.summary import RunReport


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
    report = RunReport(started_at=now)
    with warehouse.writer_lock(config.warehouse_location, holder="community_pipeline", logger=logger):
        prepare(config)
        report.imported = import_files(config, bundle_dir)
        report.sources = ingest_sources(config)
        report.enriched = enrich(config)
        built = build(config, select, pinned)
        report.models_built = built.models_built
        report.quality = check_quality(config, now)
        held = frozenset(report.quality.held_kinds)
        report.alerts = send_alerts(config, now, dry_run, held)
        if config.on_postgres:  # BI reads the marts on the server; the step says why it copies nothing
            report.notes.append(f"not published: {publish_refusal(config)}")
        else:
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
