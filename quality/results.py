"""`tertulia.dq_results` (one row per expectation per run) and `tertulia.dq_watermarks`.

Rows are bounded: `observed` is a short sentence, `details` a JSON object with at most a few
example values, each cut short. Only the last `quality.keep_runs` runs are kept.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import duckdb

from tertulia.schema import ensure_state

MAX_OBSERVED = 300
MAX_DETAILS = 2000
MAX_EXAMPLES = 5
MAX_EXAMPLE_CHARS = 40


@dataclass(frozen=True)
class Result:
    suite: str
    expectation: str
    column: str | None
    success: bool | None
    observed: str
    details: dict[str, Any]


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    ensure_state(con, "dq_results", "dq_watermarks")


def short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_EXAMPLE_CHARS else text[: MAX_EXAMPLE_CHARS - 1] + "…"


def _bounded_details(details: dict[str, Any]) -> str:
    text = json.dumps(details, default=str, ensure_ascii=False)
    while len(text) > MAX_DETAILS and details.get("examples"):
        details = {**details, "examples": details["examples"][:-1]}
        text = json.dumps(details, default=str, ensure_ascii=False)
    return text[:MAX_DETAILS]


def write_results(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    run_at: dt.datetime,
    checked_at: dt.datetime,
    results: list[Result],
) -> None:
    rows = [
        (run_id, run_at, checked_at, r.suite, r.expectation, r.column, r.success,
         r.observed[:MAX_OBSERVED], _bounded_details(r.details))
        for r in results
    ]  # fmt: skip
    # The caller owns the transaction, so results and watermarks move together.
    if rows:
        con.executemany("insert into tertulia.dq_results values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def prune_results(con: duckdb.DuckDBPyConnection, keep_runs: int) -> None:
    con.execute(
        """
        delete from tertulia.dq_results where run_id not in (
            select run_id from tertulia.dq_results group by run_id
            order by max(checked_at) desc limit ?
        )
        """,
        [keep_runs],
    )


def watermark(con: duckdb.DuckDBPyConnection, suite: str) -> dt.datetime | None:
    row = con.execute(
        "select checked_through from tertulia.dq_watermarks where suite = ?", [suite]
    ).fetchone()
    return row[0] if row else None


def set_watermark(con: duckdb.DuckDBPyConnection, suite: str, through: dt.datetime, now: dt.datetime) -> None:
    con.execute(
        """
        insert into tertulia.dq_watermarks values (?, ?, ?)
        on conflict (suite) do update set checked_through = excluded.checked_through, updated_at = excluded.updated_at
        """,
        [suite, through, now],
    )


def latest_run(con: duckdb.DuckDBPyConnection) -> tuple[str, dt.datetime] | None:
    """(run_id, run_at) of the most recent quality run, or None when none ran yet."""
    row = con.execute(
        "select run_id, max(run_at) from tertulia.dq_results group by run_id order by max(checked_at) desc limit 1"
    ).fetchone()
    return (row[0], row[1]) if row else None


def holds_in_force(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Alert kinds held back by the most recent quality run: those of the marts it found failing.

    The same rule as the gate itself (tertulia.vocabulary.HELD_KINDS_BY_MART on a failed mart suite), read
    back from `tertulia.dq_results`, so a run that checks nothing itself (the watches) keeps the holds
    the nightly run applied until a later quality run passes.
    """
    from tertulia.vocabulary import HELD_KINDS_BY_MART

    try:
        latest = latest_run(con)
    except duckdb.CatalogException:  # no quality run on this warehouse yet
        return frozenset()
    if latest is None:
        return frozenset()
    rows = con.execute(
        "select distinct suite from tertulia.dq_results where run_id = ? and success = false", [latest[0]]
    ).fetchall()
    held: set[str] = set()
    for (suite,) in rows:
        schema, _, table = str(suite).partition(".")
        if schema == "marts":
            held |= HELD_KINDS_BY_MART.get(table, frozenset())
    return frozenset(held)
