"""A failed or crashed flow run becomes a `pipeline` alert: Prefect state hooks on every flow.

Hooks (not a Prefect automation) because they need nothing configured on the server, work the same
for scheduled runs on the worker and for `tertulia run`, and send through the project's own outbox,
routing and Slack client. What they cannot see: a flow-run process killed outright (SIGKILL, out of
memory) runs no hook; the worker marks that run Crashed in the UI only.

A hook must never raise: it logs what went wrong with the alert itself, and the run's own failure
stays what the UI shows.
"""

from __future__ import annotations

import inspect
import logging
import os

from alerts.pipeline_rules import pipeline_alert
from tertulia import pipeline
from tertulia.config import ConfigError, load_config

log = logging.getLogger("tertulia.flows.failure_alerts")


def _deployment_name(flow_run) -> str | None:
    if not getattr(flow_run, "deployment_id", None):
        return None
    try:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            return client.read_deployment(flow_run.deployment_id).name
    except Exception:  # noqa: BLE001 - the id still tells which deployment it was
        return str(flow_run.deployment_id)


def _ui_url() -> str | None:
    try:
        from prefect.settings import PREFECT_UI_URL

        return PREFECT_UI_URL.value() or None
    except Exception:  # noqa: BLE001
        return None


def _parameter(flow, flow_run, name: str, default=None):
    params = getattr(flow_run, "parameters", None) or {}
    if name in params:
        return params[name]
    try:
        p = inspect.signature(flow.fn).parameters.get(name)
    except (TypeError, ValueError, AttributeError):
        return default
    return default if p is None or p.default is inspect.Parameter.empty else p.default


def alert_on_failure(flow, flow_run, state) -> None:
    """on_failure / on_crashed hook: build the pipeline alert and hand it to the outbox (or the spool)."""
    try:
        _send(flow, flow_run, state)
    except Exception:  # noqa: BLE001 - a hook that raises would hide the run's own error
        log.exception("could not record the pipeline alert for flow run %s", getattr(flow_run, "name", "?"))


def _send(flow, flow_run, state) -> None:
    alert = pipeline_alert(
        flow_name=getattr(flow, "name", None) or str(getattr(flow_run, "flow_id", "flow")),
        deployment=_deployment_name(flow_run),
        flow_run_id=str(flow_run.id),
        flow_run_name=str(getattr(flow_run, "name", flow_run.id)),
        state_name=str(getattr(state, "name", None) or "Failed"),
        error=getattr(state, "message", None),
        occurred_at=pipeline.utcnow(),
        ui_url=_ui_url(),
    )
    config_path = _parameter(flow, flow_run, "config_path") or os.environ.get("TERTULIA_CONFIG")
    try:
        config = load_config(config_path or "community.yml")
    except ConfigError as exc:
        # No configuration, no warehouse and no Slack to send to: the log is all that is left.
        log.error("%s: %s; the pipeline alert could not be sent (%s)", alert.title, exc, dict(alert.facts))
        return
    outcome = pipeline.send_pipeline_alert(
        config, alert, dry_run=bool(_parameter(flow, flow_run, "dry_run", False)), logger=log
    )
    log.warning("%s: pipeline alert recorded: %s", alert.title, outcome)


HOOKS = {"on_failure": [alert_on_failure], "on_crashed": [alert_on_failure]}
