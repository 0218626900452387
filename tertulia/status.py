"""`tertulia status`: what the warehouse holds and when each raw table last landed (read-only)."""

from __future__ import annotations

import duckdb

from enrichment.versions import earlier_versions, earlier_versions_notice
from tertulia import warehouse
from tertulia.config import Config
from tertulia.contract import ENTITIES

# PostgreSQL has no safe cast to write render_status's DuckDB query with: the newest comment by the instant staging
# parsed (the same parse, macros/timestamps.sql), once `tertulia build` has made the view.
_NEWEST_ON_POSTGRES = """
    select r.created_at, r.platform, r.comment_id
    from raw.comments as r
    inner join staging.stg_social__comments as s on s.platform = r.platform and s.comment_id = r.comment_id
    order by s.created_at desc nulls last
    limit 1
"""


def render_status(config: Config) -> str:
    """Rows and last load per raw table, open quarantine rows, newest comment, comments an earlier
    engine version scored. Raises FileNotFoundError
    (with what to run) when there is no warehouse yet."""
    path = config.warehouse_location
    try:
        con = warehouse.connect(path, read_only=True)
    except (duckdb.IOException, duckdb.ConnectionException):
        return f"{path} is being written by a running import or pipeline; try again when it ends."
    try:
        lines = [f"Warehouse {path}"]
        quarantined: dict[str, int] = {}
        if warehouse.table_exists(con, "tertulia", "quarantine"):
            quarantined = dict(
                con.execute(
                    "select entity, count(*) from tertulia.quarantine where released_at is null group by entity"
                ).fetchall()
            )
        lines.append(f"  {'table':<20} {'rows':>10}  {'last loaded (UTC)':<19}  quarantined")
        for name in ENTITIES:
            if not warehouse.table_exists(con, "raw", name):
                lines.append(f"  raw.{name:<16} {'-':>10}  (no table yet)")
                continue
            rows, last = con.execute(f"select count(*), max(_loaded_at) from raw.{name}").fetchone()  # noqa: S608
            when = f"{last:%Y-%m-%d %H:%M:%S}" if last else "never"
            lines.append(f"  raw.{name:<16} {rows:>10}  {when:<19}  {quarantined.get(name, 0)}")
        on_postgres = warehouse.is_postgres(con)
        if on_postgres and not warehouse.table_exists(con, "staging", "stg_social__comments"):
            # imported or enriched, not built yet: the query below would fail on the missing view
            lines.append("Newest comment: shown after the first `tertulia build` (or `tertulia run`).")
        elif warehouse.table_exists(con, "raw", "comments"):
            # Raw timestamps are text as delivered; order by the instant, reading naive ones in the
            # community's timezone as staging does.
            newest = con.execute(
                _NEWEST_ON_POSTGRES
                if on_postgres
                else """
                select created_at, platform, comment_id from raw.comments
                order by case when regexp_matches(trim(created_at), '(Z|z|[+-]\\d{2}(:?\\d{2})?)$')
                                and regexp_matches(trim(created_at), '[T ]\\d{2}:\\d{2}')
                              then try_cast(trim(created_at) as timestamptz)
                              else timezone(?, try_cast(trim(created_at) as timestamp)) end desc nulls last
                limit 1
                """,
                [] if on_postgres else [config.community.timezone],
            ).fetchone()
            if newest:
                lines.append(f"Newest comment: {newest[0]} ({newest[1]}:{newest[2]})")
            else:
                lines.append("No comments landed yet.")
        open_rows = sum(quarantined.values())
        if open_rows:
            lines.append(f"{open_rows} row(s) in quarantine: `tertulia quarantine` lists them.")
        # After an engine upgrade history keeps its old scores (a run never re-scores it): say so here,
        # where a team looks for what needs doing, rather than let baselines mix versions silently.
        notice = earlier_versions_notice(earlier_versions(con))
        if notice:
            lines.append(notice)
        return "\n".join(lines)
    finally:
        con.close()
