"""Which engine version scored the stored comments: the rule "scored by an earlier engine version",
and the sentence `tertulia status` and the run summary print while any comment is.

A run never re-scores history (an upgrade must not turn a five-minute watch into a backfill), so after
an upgrade the crisis baselines compare old scores with new ones until `tertulia enrich --rescore`
runs; this says so. Kept apart from enrichment.store so that `tertulia status` loads no Arrow.
"""

from __future__ import annotations

from enrichment.sentiment import ENGINE_VERSION
from tertulia import warehouse

# `e` an enrichment row, `$rescore_version` the engine version now scoring (null makes it never true).
# The one home of the rule: enrichment.store.TODO_FROM re-scores by it, `earlier_versions` counts by it.
SCORED_BY_EARLIER = "e.model_version <> $rescore_version"

# Portable SQL, run as it is on DuckDB and through a PostgresConnection (`$name` parameters).
_EARLIER_SQL = f"""
select e.model_version, count(*) as comments
from raw.comment_enrichment as e
where {SCORED_BY_EARLIER}
group by e.model_version
order by e.model_version
"""  # noqa: S608


def earlier_versions(con) -> dict[str, int]:
    """How many comments each earlier engine version scored ({} when none, or nothing scored yet):
    what `tertulia enrich --rescore` would score again, bar edits. One grouped query, on a DuckDB
    connection or a `tertulia.warehouse.PostgresConnection`."""
    if not warehouse.table_exists(con, "raw", "comment_enrichment"):
        return {}
    rows = con.execute(_EARLIER_SQL, {"rescore_version": ENGINE_VERSION}).fetchall()
    return {version: int(n) for version, n in rows}


def earlier_versions_notice(counts: dict[str, int]) -> str | None:
    """The one sentence `tertulia status` and the run summary print after an engine upgrade, naming
    the count, the versions and the command that fixes it; None when every score is current."""
    if not counts:
        return None
    total = sum(counts.values())
    versions = (
        next(iter(counts)) if len(counts) == 1 else ", ".join(f"{v}: {n}" for v, n in sorted(counts.items()))
    )
    were = "comment was" if total == 1 else "comments were"
    return (
        f"{total} {were} scored by an earlier sentiment engine ({versions}) than this one "
        f"({ENGINE_VERSION}), so crisis baselines compare old and new scores: run "
        "`tertulia enrich --rescore`, then the next `tertulia run` updates the marts."
    )
