"""What a run found, in a few lines: printed by `tertulia run`/`demo`, and the run's artifact in the UI."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tertulia import run_views
from tertulia.clock import local_label
from tertulia.config import Config

if TYPE_CHECKING:  # the steps' own reports; importing them at run time would load GX and Slack here
    from alerts.delivery import DeliveryReport
    from connectors.files import ImportReport
    from connectors.runner import SourceReport
    from quality.gates import QualityReport
    from tertulia.publish import PublishReport


@dataclass
class RunReport:
    """What one run of the whole pipeline found, step by step; None: the step did not run or had nothing
    to do (no bundle folder, no quality run)."""

    started_at: dt.datetime
    imported: ImportReport | None = None
    sources: dict[str, SourceReport] = field(default_factory=dict)
    enriched: int = 0
    models_built: list[str] = field(default_factory=list)
    quality: QualityReport | None = None
    alerts: DeliveryReport | None = None
    published: PublishReport | None = None
    # Steps that did not run on this warehouse, and why (live ingest, publishing on PostgreSQL).
    notes: list[str] = field(default_factory=list)
    # What `tertulia run` prints, read while the run held the writer lock (see flows.artifacts.read_views).
    summary_text: str = ""


def _highlights(config: Config) -> dict[str, Any]:
    try:
        from tertulia.highlights import engagement_highlights
    except ImportError:
        return {}
    from tertulia import warehouse

    if not warehouse.exists(config.warehouse_location):
        return {}
    con = warehouse.connect(config.warehouse_location)
    try:
        return engagement_highlights(con) or {}
    except Exception as exc:  # a summary must not fail the run it summarises
        return {"error": f"highlights unavailable: {exc}"}
    finally:
        con.close()


def _lines(config: Config, report: RunReport) -> list[str]:
    lines = [f"Tertulia run for {config.community.name}"]
    imported = run_views.import_rows(report.imported)
    if imported:
        lines.append("Rows landed (new / updated / unchanged / quarantined):")
        for r in imported:
            lines.append(
                f"  {r['entity']:<17} {r['inserted'] or 0:>8} / {r['updated'] or 0:>6} / "
                f"{r['unchanged'] or 0:>8} / {r['quarantined'] or 0:>5}"
            )
    for e in report.imported.errors if report.imported else []:
        lines.append(f"  ! {e}")
    for source in report.sources.values():
        lines.append("Source " + source.render())
    if report.enriched:
        lines.append(f"Comments enriched (language, sentiment, intent): {report.enriched}")
    earlier = run_views.earlier_engine_notice(config)
    if earlier:
        lines.append(earlier)
    marts = run_views.mart_row_counts(config)
    if marts:
        lines.append(
            f"Marts built: {len(marts)} (" + ", ".join(f"{m['mart']} {m['rows']}" for m in marts) + ")"
        )
    sla = run_views.sla_counts(config)
    if sla:
        lines.append(
            "SLAs: "
            + ", ".join(
                f"{sla.get(s, 0)} {s.replace('_', ' ')}" for s in ("met", "breached", "at_risk", "pending")
            )
        )
    crises = run_views.crisis_counts(config)
    if crises and crises["accounts"]:
        # the mart's own count: one row per crisis and account (the community-wide view apart)
        lines.append(
            f"Crisis incidents: {crises['accounts']} ({crises['alerted']} alerted, {crises['open']} open; "
            f"{crises['community']} community-wide)"
        )
        for i in run_views.crisis_incidents(config, limit=5):
            # Local time with its zone, as everything a person reads (tertulia.clock).
            lines.append(
                f"  {local_label(i.get('started_at'), config.tz)}  {i.get('platform')}/{i.get('account_id')}  "
                f"{i.get('signals')}  {i.get('peak_severity')}"
            )
    else:
        lines.append("Crisis incidents: none")
    h = _highlights(config)
    for label, key in (
        ("Engagement rate (last 30 days) vs goal", "engagement_rate_vs_goal"),
        ("Best posting slot", "best_slot"),
        ("Calendar adherence", "calendar_adherence"),
        ("Top contributors", "top_contributors"),
    ):
        if h.get(key) is not None:
            lines.append(f"{label}: {h[key]}")
    if h.get("error"):
        lines.append(h["error"])
    if report.quality is not None:
        lines.append("Data quality: " + report.quality.render().splitlines()[0])
    if report.alerts is not None:
        lines.append("Alerts: " + report.alerts.render().splitlines()[0])
    if report.published is not None:
        lines.append(f"Published for BI: {report.published.database_path}")
    lines += [f"Note: {n}" for n in report.notes]
    lines.append(f"Warehouse: {config.warehouse_location}")
    return lines


def render_text(config: Config, report: RunReport) -> str:
    return "\n".join(_lines(config, report))


def render_markdown(config: Config, report: RunReport) -> str:
    body = _lines(config, report)
    return "## " + body[0] + "\n\n" + "\n".join(f"    {line}" for line in body[1:])
