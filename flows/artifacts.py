"""What a run shows in the Prefect UI: one artifact per thing a person wants to see.

Each function turns a step's report (or mart rows) into an artifact; the data comes from plain
functions in tertulia.run_views so tests can check it without Prefect.
"""

from __future__ import annotations

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from tertulia import run_views
from tertulia.config import Config


def _cells(rows: list[dict]) -> list[dict]:
    """Table artifacts are JSON: timestamps and decimals become text as a person would read them."""
    return [
        {k: v if v is None or isinstance(v, (str, int, float, bool)) else str(v) for k, v in row.items()}
        for row in rows
    ]


def _key(name: str) -> str:
    # Artifact keys: lowercase letters, numbers and dashes only.
    return name.replace("_", "-").lower()


def publish_import(report) -> None:
    rows = run_views.import_rows(report)
    if rows:
        create_table_artifact(
            key=_key("rows-landed"), table=_cells(rows), description="Rows landed per source and entity"
        )
    errors = getattr(report, "errors", None) or []
    if errors:
        create_markdown_artifact(
            key=_key("import-problems"),
            markdown="## Files that did not land\n\n" + "\n".join(f"- {e}" for e in errors),
            description="Whole files the importer refused, and what to do",
        )


def publish_sources(reports: dict) -> None:
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


def publish_marts(config: Config) -> None:
    rows = run_views.mart_row_counts(config)
    if rows:
        create_table_artifact(
            key="marts-built", table=_cells(rows), description="Marts and their row counts after this run"
        )


def publish_sla(config: Config) -> None:
    rows = run_views.sla_attention_rows(config)
    create_table_artifact(
        key="sla-at-risk-and-breached",
        table=_cells(rows) or [{"status": "none", "note": "no unanswered item is at risk or breached"}],
        description="Unanswered items at risk or past their SLA",
    )


def publish_crisis(config: Config) -> None:
    create_markdown_artifact(
        key="crisis-signals",
        markdown=run_views.crisis_markdown(config),
        description="Crisis signals and incidents",
    )


def publish_quality(report) -> None:
    if report is None:
        return
    text = report.render() if hasattr(report, "render") else str(report)
    create_markdown_artifact(
        key="data-quality", markdown=f"```\n{text}\n```", description="Data-quality gates"
    )


def publish_alerts(report) -> None:
    if report is None:
        return
    text = report.render() if hasattr(report, "render") else str(report)
    create_markdown_artifact(
        key="alerts-sent", markdown=f"```\n{text}\n```", description="Alerts sent, held or failed"
    )
