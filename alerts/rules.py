"""All alert rules in one call. A rule module not written yet, or whose mart is not built, is skipped with a
logged note: one missing mart must not silence the other kinds of alert."""

from __future__ import annotations

import datetime as dt
import importlib
import logging

import duckdb

from alerts.model import SEVERITY_ORDER, Alert
from tertulia.config import Config

log = logging.getLogger("tertulia.alerts")

RULES = (
    ("alerts.sla_rules", "sla_alerts"),
    ("alerts.crisis_rules", "crisis_alerts"),
    ("alerts.dq_rules", "dq_alerts"),
    ("alerts.trend_rules", "trend_alerts"),
)
KINDS = ("crisis", "sla", "data_quality", "digest", "trend", "pipeline")


def news_window(config: Config) -> dt.timedelta:
    """How long before `now` an event may have happened and still be alerted (`warehouse.lookback_hours`,
    at least 1 h). Older is history, not news: a first run over months of data must not replay it, and
    every rule uses this one limit so that SLA and crisis alerts agree on what is news."""
    return dt.timedelta(hours=max(config.warehouse.lookback_hours, 1))


def _valid(alert: object, source: str) -> bool:
    if not isinstance(alert, Alert):
        log.error("%s returned %r, not an Alert; skipped", source, type(alert).__name__)
        return False
    problems = []
    if alert.kind not in KINDS:
        problems.append(f"kind {alert.kind!r} is not one of {', '.join(KINDS)}")
    if alert.severity not in SEVERITY_ORDER:
        problems.append(f"severity {alert.severity!r} is not one of {', '.join(SEVERITY_ORDER)}")
    if not alert.dedupe_key:
        problems.append("dedupe_key is empty")
    if problems:
        log.error("%s: alert %r skipped: %s", source, alert.dedupe_key or alert.title, "; ".join(problems))
        return False
    return True


def evaluate_all(con: duckdb.DuckDBPyConnection, config: Config, *, now: dt.datetime) -> list[Alert]:
    alerts: list[Alert] = []
    for module_name, func_name in RULES:
        source = f"{module_name}.{func_name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                log.exception("%s cannot be imported; its alerts are skipped this run", module_name)
            else:
                log.info("%s is not installed yet; its alerts are skipped", module_name)
            continue
        func = getattr(module, func_name, None)
        if func is None:
            log.error("%s has no function %s; its alerts are skipped", module_name, func_name)
            continue
        try:
            produced = func(con, config, now)
        except duckdb.CatalogException as exc:
            log.warning("%s skipped: a mart it reads is not built yet (%s)", source, str(exc).splitlines()[0])
            continue
        except Exception:  # noqa: BLE001 - one broken rule must not stop the others or the pipeline
            log.exception("%s failed; its alerts are skipped this run", source)
            continue
        alerts.extend(a for a in produced or [] if _valid(a, source))
    try:
        from alerts.digest import digest_due

        digest = digest_due(con, config, now=now)
        if digest is not None:
            alerts.append(digest)
    except Exception:  # noqa: BLE001
        log.exception("the daily digest failed; skipped this run")
    return alerts
