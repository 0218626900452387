"""Live sources (YouTube, Facebook, Instagram, Reddit, Discourse, Mastodon) as Prefect flows.

`ingest_source` is one parameterised flow, so a source can get its own deployment and schedule
(`source_name` differs); `ingest_sources` reads every enabled source in turn, which is what
prefect.yaml schedules by default. The work is `connectors.runner.run_sources`; the flows only hold
the writer lock, name the step and show what landed as an artifact.
"""

from __future__ import annotations

import re

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from connectors.base import SourceError
from connectors.runner import SourceReport, parse_since, run_sources
from flows import failure_alerts
from tertulia import pipeline, warehouse
from tertulia.config import load_config


@task(name="Read the source's API and land new records")
def read_and_land(config, source_name: str, since: str | None) -> SourceReport:
    # No task retries: the runner retries calls itself, and a stopped source resumes next run.
    return run_sources(config, [source_name], since=parse_since(since))[source_name]


def render_report_markdown(report: SourceReport) -> str:
    lines = [
        f"## {report.source} ({report.platform}): {report.status}",
        "",
        f"{report.pages} page(s), {report.requests} request(s).",
        "",
    ]
    if report.landed:
        lines += [
            "| entity | inserted | updated | unchanged | quarantined |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {e} | {c['inserted']} | {c['updated']} | {c['unchanged']} | {c['quarantined']} |"
            for e, c in report.landed.items()
        ]
    if report.message:
        lines += ["", f"**{report.message}**"]
    return "\n".join(lines)


def _artifact_key(source_name: str) -> str:
    return "ingest-" + re.sub(r"[^a-z0-9-]+", "-", source_name.lower())


@flow(name="ingest_source", log_prints=True, **failure_alerts.HOOKS)
def ingest_source(
    source_name: str, config_path: str = "community.yml", since: str | None = None
) -> SourceReport:
    """Land what is new in one configured source (`sources.<source_name>` in community.yml)."""
    logger = get_run_logger()
    config = load_config(config_path)
    with warehouse.writer_lock(config.warehouse_location, holder="ingest_source", logger=logger):
        pipeline.prepare_warehouse(config)
        report = read_and_land(config, source_name, since)
    create_markdown_artifact(
        key=_artifact_key(source_name),
        markdown=render_report_markdown(report),
        description=f"What {source_name} landed",
    )
    logger.info(report.render())
    if report.status == "failed":
        # A person must act (token, permission): the run shows as failed, with what to do.
        raise SourceError(report.message)
    if report.message:
        logger.warning(report.message)
    return report


@flow(name="ingest_sources", log_prints=True, **failure_alerts.HOOKS)
def ingest_sources(config_path: str = "community.yml", since: str | None = None) -> dict[str, SourceReport]:
    """Land what is new in every enabled source; one source failing does not stop the others."""
    logger = get_run_logger()
    config = load_config(config_path)
    with warehouse.writer_lock(config.warehouse_location, holder="ingest_sources", logger=logger):
        if not config.on_postgres:  # on PostgreSQL, ingest_sources prepares the tables it writes
            pipeline.prepare_warehouse(config)
        reports = pipeline.ingest_sources(config, since=since)
    for name, report in reports.items():
        create_markdown_artifact(
            key=_artifact_key(name),
            markdown=render_report_markdown(report),
            description=f"What {name} landed",
        )
        logger.info(report.render())
    failed = [r for r in reports.values() if r.status == "failed"]
    if failed:
        raise SourceError("; ".join(f"{r.source}: {r.message}" for r in failed))
    return reports
