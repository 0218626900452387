"""The pipeline's steps as Prefect tasks, defined once for every flow (flows/pipeline.py, watches.py).

Each task is a step of `tertulia.pipeline` with a name a person understands in the UI. Retries are
only for failures that another attempt can fix: a dropped connection, a timeout, a warehouse file
briefly unreadable. A bad file, a broken model or a wrong token fails the first time, with its own
message, instead of failing again after minutes of waiting.
"""

from __future__ import annotations

import os
import time
import urllib.error
from pathlib import Path

import duckdb
from prefect import get_run_logger, task

from tertulia import pipeline

# Errors another attempt may not meet. slack-sdk speaks through urllib (URLError); Python's own
# ConnectionError and TimeoutError cover sockets; duckdb.IOException is a file the OS refused for now.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    urllib.error.URLError,
    duckdb.IOException,
)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT_ERRORS)


def retry_if_transient(task, task_run, state) -> bool:
    """Prefect's retry condition: retry a failed run only when its exception is transient."""
    return is_transient(state.result(raise_on_failure=False))


@task(name="Prepare warehouse and configuration")
def prepare(config):
    probe = os.environ.get("TERTULIA_STARTUP_PROBE")
    if probe:  # bench/phase.py measures start-up as the time until the first task starts
        Path(probe).write_text(repr(time.time()))
    pipeline.prepare_warehouse(config)


@task(name="Import file exports", retries=2, retry_delay_seconds=10, retry_condition_fn=retry_if_transient)
def import_files(config, bundle_dir: str | Path | None):
    return pipeline.import_files(config, Path(bundle_dir) if bundle_dir else None)


@task(name="Read live platform sources")
def ingest_sources(config):
    # No task retries: the connectors retry calls themselves, and a stopped source resumes next run.
    return pipeline.ingest_sources(config)


@task(name="Enrich new comments (language, sentiment, intent)")
def enrich(config):
    return pipeline.enrich(config)


@task(name="Build models (dbt)")
def build(config, select, as_of, run_tests: bool = True):
    result = pipeline.build(config, select=select, as_of=as_of, run_tests=run_tests)
    # a model that ran out of memory and was run again alone (tertulia.dbt_runner.build); getattr: the
    # flows' tests stand a namespace with the fields they need in for the result
    notice = getattr(result, "notice", "")
    if notice:
        get_run_logger().warning(notice)
    return result


@task(name="Check data quality (Great Expectations)")
def check_quality(config, now):
    return pipeline.check_quality(config, now=now)


@task(name="Read quality holds in force")
def holds_in_force(config):
    return pipeline.held_kinds_in_force(config)


@task(name="Send alerts to Slack", retries=3, retry_delay_seconds=30, retry_condition_fn=retry_if_transient)
def send_alerts(config, now, dry_run, held_kinds=frozenset()):
    return pipeline.evaluate_and_send_alerts(config, now=now, dry_run=dry_run, held_kinds=held_kinds)


@task(name="Publish marts for BI tools")
def publish(config):
    return pipeline.publish(config)
