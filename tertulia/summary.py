"""What a run found, in a few lines: printed by `tertulia run`/`demo`, and the run's artifact in the UI."""

from __future__ import annotations

from typing import Any

from tertulia import run_views
from tertulia.config import Config


def _highlights(config: Config) -> dict[str, Any]:
    try:
        from tertulia.highlights import engagement_highlights
    except ImportError:
        return {}
    from tertulia import warehouse

    if not config.warehouse_path.exists():
        return {}
    con = warehouse.connect(config.warehouse_path)
    try:
        return engagement_highlights(con) or {}
    except Exception as exc:  # a summary must not fail the run it summarises
        return {"error": f"highlights unavailable: {exc}"}
    finally:
        con.close()


def _lines(config: Config, report) -> list[str]:
    lines = [f"Tertulia run for {config.community.name}"]
    imported = run_views.import_rows(getattr(report, "imported", None))
    if imported:
        lines.append("Rows landed (new / updated / unchanged / quarantined):")
        for r in imported:
            lines.append(
                f"  {r['entity']:<17} {r['inserted'] or 0:>8} / {r['updated'] or 0:>6} / "
                f"{r['unchanged'] or 0:>8} / {r['quarantined'] or 0:>5}"
            )
    errors = getattr(getattr(report, "imported", None), "errors", None) or []
    for e in errors:
        lines.append(f"  ! {e}")
    for source in (getattr(report, "sources", None) or {}).values():
        lines.append("Source " + source.render())
    if getattr(report, "enriched", None):
        lines.append(f"Comments enriched (language, sentiment, intent): {report.enriched}")
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
            lines.append(
                f"  {i.get('started_at')}  {i.get('platform')}/{i.get('account_id')}  {i.get('signals')}  "
                f"{i.get('peak_severity')}"
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
    quality = getattr(report, "quality", None)
    if quality is not None and hasattr(quality, "render"):
        lines.append("Data quality: " + quality.render().splitlines()[0])
    alerts = getattr(report, "alerts", None)
    if alerts is not None and hasattr(alerts, "render"):
        lines.append("Alerts: " + alerts.render().splitlines()[0])
    published = getattr(report, "published", None)
    if published is not None:
        lines.append(f"Published for BI: {getattr(published, 'database', None) or published}")
    lines.append(f"Warehouse: {config.warehouse_path}")
    return lines


def render_text(config: Config, report) -> str:
    return "\n".join(_lines(config, report))


def render_markdown(config: Config, report) -> str:
    body = _lines(config, report)
    return "## " + body[0] + "\n\n" + "\n".join(f"    {line}" for line in body[1:])
