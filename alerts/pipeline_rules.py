"""Pipeline alerts: a scheduled job (or a CLI run) that failed or crashed, told to the data channel.

A pure function like the other rules: the Prefect state hook (flows/failure_alerts.py) gathers the
facts, this turns them into an Alert, and the outbox and delivery send it like any other alert.
"""

from __future__ import annotations

import datetime as dt

from alerts.model import Alert, Link

# Prefect's own prefix on a failed state's message; the exception itself is what a person needs.
_PREFECT_PREFIXES = ("Flow run encountered an exception: ",)
ERROR_MAX = 300


def first_error_line(message: str | None) -> str:
    """The first non-empty line of a state message, without Prefect's prefix, cut to ERROR_MAX."""
    for line in (message or "").splitlines():
        line = line.strip()
        if line:
            for prefix in _PREFECT_PREFIXES:
                line = line.removeprefix(prefix)
            return line if len(line) <= ERROR_MAX else line[: ERROR_MAX - 1] + "…"
    return "no error message"


def pipeline_alert(
    *,
    flow_name: str,
    deployment: str | None,
    flow_run_id: str,
    flow_run_name: str,
    state_name: str,
    error: str | None,
    occurred_at: dt.datetime,
    ui_url: str | None = None,
) -> Alert:
    """One alert per failed or crashed flow run (the run id is the dedupe key), threaded per job."""
    job = f"{flow_name}/{deployment}" if deployment else flow_name
    verb = "crashed" if state_name.lower() == "crashed" else "failed"
    facts = [
        ("Flow", flow_name),
        ("Deployment", deployment or "none (started by hand or by the CLI)"),
        ("Run", flow_run_name),
        ("State", state_name),
        ("Error", first_error_line(error)),
    ]
    links = ()
    if ui_url:
        links = (Link("Open the run in Prefect", f"{ui_url.rstrip('/')}/runs/flow-run/{flow_run_id}"),)
    return Alert(
        kind="pipeline",
        severity="critical",
        dedupe_key=f"pipeline:{flow_run_id}",
        title=f"{job} {verb}",
        facts=tuple(facts),
        links=links,
        thread_key=f"pipeline:{job}",
        occurred_at=occurred_at,
        reason=(
            "A scheduled job that did not finish may have left alerts unsent and marts stale; "
            "the next run retries. Read the run's logs, fix the cause, or run it again by hand."
        ),
    )
