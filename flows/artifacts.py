"""What a run shows in the Prefect UI: one artifact per thing a person wants to see.

Each function turns a step's report (or mart rows) into an artifact. Mart rows are read by
`read_views` while the run still holds the writer lock: the publishing functions never open
the warehouse, because once a run lets go of the lock the next run may be writing it (DuckDB then
refuses any other process, readers too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from tertulia import run_views, summary
from tertulia.config import Config
from tertulia.summary import RunReport

if TYPE_CHECKING:
    from alerts.delivery import DeliveryReport
    from connectors.files import ImportReport
    from connectors.runner import SourceReport
    from quality.gates import QualityReport


@dataclass
class RunViews:
    """What a run's artifacts show, read while the run holds the writer lock; None: not asked for."""

    marts: list[dict[str, Any]] | None = None
    sla: list[dict[str, Any]] | None = None
    crisis: str | None = None
    summary: str | None = None  # markdown, for the run-summary artifact
    summary_text: str | None = None  # the same, as `tertulia run` prints it


def read_views(
    config: Config,
    *,
    marts: bool = False,
    sla: bool = False,
    crisis: bool = False,
    summary_of: RunReport | None = None,
) -> RunViews:
    """Read everything the run's artifacts need now; the caller must still hold the writer lock."""
    views = RunViews()
    if marts:
        views.marts = run_views.mart_row_counts(config)
    if sla:
        views.sla = run_views.sla_attention_rows(config)
    if crisis:
        views.crisis = run_views.crisis_markdown(config)
    if summary_of is not None:
        views.summary = summary.render_markdown(config, summary_of)
        views.summary_text = summary.render_text(config, summary_of)
    return views


def _cells(rows: list[dict]) -> list[dict]:
    """Table artifacts are JSON: timestamps and decimals become text as a person would read them."""
    return [
        {k: v if v is None or isinstance(v, (str, int, float, bool)) else str(v) for k, v in row.items()}
        for row in rows
    ]


def _key(name: str) -> str:
    # Artifact keys: lowercase letters, numbers and dashes only.
    return name.replace("_", "-").lower()


def publish_import(report: ImportReport | None) -> None:
    rows = run_views.import_rows(report)
    if rows:
        create_table_artifact(
            key=_key("rows-landed"), table=_cells(rows), description="Rows landed per source and entity"
        )
    errors = report.errors if report else []
    if errors:
        create_markdown_artifact(
            key=_key("import-problems"),
            markdown="## Files that did not land\n\n" + "\n".join(f"- {e}" for e in errors),
            description="Whole files the importer refused, and what to do",
        )


def publish_sources(reports: dict[str, SourceReport]) -> None:
    rows = [
        {
            "source": name,
            "platform": r.platform,
            "status": r.status,
            "pages": r.pages,
            "message": r.message or "",
        }
        for name, r in (reports or {}).items()
    ]
    if rows:
        create_table_artifact(
            key="sources-read", table=_cells(rows), description="Live platform sources read"
        )


def publish_marts(rows: list[dict] | None) -> None:
    if rows:
        create_table_artifact(
            key="marts-built", table=_cells(rows), description="Marts and their row counts after this run"
        )


def publish_sla(rows: list[dict] | None) -> None:
    if rows is None:
        return
    create_table_artifact(
        key="sla-at-risk-and-breached",
        table=_cells(rows)
        or [{"status": "none", "note": "no unanswered item is at risk or breached in the last day"}],
        description="What needs an answer first: at risk (nearest deadline first), then breached in the last day",
    )


def publish_crisis(markdown: str | None) -> None:
    if markdown is None:
        return
    create_markdown_artifact(
        key="crisis-signals",
        markdown=markdown,
        description="Crisis signals and incidents",
    )


def publish_views(views: RunViews) -> None:
    publish_marts(views.marts)
    publish_sla(views.sla)
    publish_crisis(views.crisis)
    if views.summary is not None:
        create_markdown_artifact(key="run-summary", markdown=views.summary, description="What this run found")


def publish_quality(report: QualityReport | None) -> None:
    if report is None:
        return
    text = report.render()
    create_markdown_artifact(
        key="data-quality", markdown=f"```\n{text}\n```", description="Data-quality gates"
    )


def publish_alerts(report: DeliveryReport | None) -> None:
    if report is None:
        return
    text = report.render()
    create_markdown_artifact(
        key="alerts-sent", markdown=f"```\n{text}\n```", description="Alerts sent, held or failed"
    )
