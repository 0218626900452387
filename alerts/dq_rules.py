"""Data-quality alerts: what the last quality run found, told to the data channel.

One alert per failed suite per run day (the dedupe key), saying which table, which expectations
failed with the values observed, and which alert kinds are held back because of it. Pure reading of
`tertulia.dq_results`; nothing here imports Great Expectations.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb

from alerts.model import Alert
from alerts.render import local_time
from tertulia.config import Config
from tertulia.vocabulary import HELD_KINDS_BY_MART, KIND_NAMES, ordered_kinds

MAX_FACTS = 5  # failed expectations listed per alert (Slack shows 10 fields); the rest are counted


def _latest_run(con: duckdb.DuckDBPyConnection) -> tuple[str, dt.datetime] | None:
    try:
        row = con.execute(
            "select run_id, max(run_at) from tertulia.dq_results "
            "group by run_id order by max(checked_at) desc limit 1"
        ).fetchone()
    except duckdb.CatalogException:  # no quality run yet on this warehouse
        return None
    return (row[0], row[1]) if row else None


def held_reason(table: str, failed: list[str]) -> dict[str, str]:
    """kind -> "SLA alerts held: fct_sla_events failed 'business minutes non-negative'"."""
    listed = ", ".join(f"'{e}'" for e in failed[:3]) + (
        f" and {len(failed) - 3} more" if len(failed) > 3 else ""
    )
    return {
        kind: f"{KIND_NAMES.get(kind, kind)} held: {table} failed {listed}"
        for kind in ordered_kinds(HELD_KINDS_BY_MART.get(table, frozenset()))
    }


def dq_alerts(con: duckdb.DuckDBPyConnection, config: Config, now: dt.datetime) -> list[Alert]:
    """Alerts for the failed suites of the most recent quality run (none when it passed)."""
    latest = _latest_run(con)
    if latest is None:
        return []
    run_id, run_at = latest
    rows = con.execute(
        """
        select suite, expectation, "column", observed, details
        from tertulia.dq_results
        where run_id = ? and success = false
        order by suite, expectation
        """,
        [run_id],
    ).fetchall()
    by_suite: dict[str, list[tuple[str, str | None, str, str]]] = {}
    for suite, expectation, column, observed, details in rows:
        by_suite.setdefault(suite, []).append((expectation, column, observed or "", details or "{}"))
    docs = config.quality_page
    alerts = []
    for suite, failed in by_suite.items():
        schema, _, table = suite.partition(".")
        reasons = held_reason(table, [f[0] for f in failed]) if schema == "marts" else {}
        rows_checked = _rows_checked(failed)
        facts: list[tuple[str, str]] = [("Table", suite)]
        if rows_checked:
            facts.append(("Rows checked", rows_checked))
        for expectation, column, observed, _ in failed[:MAX_FACTS]:
            where = f" ({column})" if column else ""
            facts.append((f"Failed: {expectation}{where}", observed))
        if len(failed) > MAX_FACTS:
            facts.append(
                ("More failures", f"{len(failed) - MAX_FACTS} more expectations; see the quality page")
            )
        if reasons:
            facts.append(("Held back", "; ".join(reasons.values())))
        else:
            facts.append(("Held back", "nothing: no alert reads this table directly"))
        facts.append(("Quality page", str(docs)))
        names = [KIND_NAMES.get(k, k) for k in reasons]
        held = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        title = f"Data check failed on {suite}" + (f": {held} held back" if held else "")
        why = (
            "Alerts computed from this table would show wrong numbers, so they wait until the check passes."
            if reasons
            else "New data failed the landing checks; the marts built from it may be off."
        )
        alerts.append(
            Alert(
                kind="data_quality",
                severity="critical" if reasons else "warning",
                dedupe_key=f"data_quality:{suite}:{run_at.date().isoformat()}",
                title=title,
                facts=tuple(facts),
                occurred_at=run_at,
                reason=f"Great Expectations gate failed in the quality run of {local_time(run_at, config.tz)}. {why}",
                thread_key=f"data_quality:{suite}",
            )
        )
    return alerts


def _rows_checked(failed: list[tuple[str, str | None, str, str]]) -> str:
    for *_, details in failed:
        try:
            d = json.loads(details)
        except ValueError:
            continue
        if "rows_checked" in d:
            total, checked = d.get("rows_total", d["rows_checked"]), d["rows_checked"]
            return f"{checked} of {total} (sample)" if d.get("sampled") else str(checked)
    return ""
