"""`tertulia quarantine`: the rows held back from landing, with the file, line, rule and reason."""

from __future__ import annotations

import duckdb

from tertulia import warehouse
from tertulia.config import Config


def _short(text: str | None, width: int = 160) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def render_quarantine(config: Config, entity: str | None = None, limit: int = 50) -> str:
    """Open quarantine rows, newest first (read-only: safe while nothing writes the warehouse)."""
    try:
        con = warehouse.connect(config.warehouse_location, read_only=True)
    except (duckdb.IOException, duckdb.ConnectionException):
        return f"{config.warehouse_location} is being written by a running import or pipeline; try again when it ends."
    try:
        if not warehouse.table_exists(con, "tertulia", "quarantine"):
            return "Nothing in quarantine: no import has held back a row yet."
        where = "released_at is null" + (" and entity = ?" if entity else "")
        args = [entity] if entity else []
        totals = con.execute(
            f"select entity, rule, count(*) from tertulia.quarantine where {where} "  # noqa: S608 - constant text
            "group by entity, rule order by entity, rule",
            args,
        ).fetchall()
        released_sql = "select count(*) from tertulia.quarantine where released_at is not null"
        released = con.execute(released_sql + (" and entity = ?" if entity else ""), args).fetchone()[0]
        if not totals:
            scope = f" for {entity}" if entity else ""
            return f"Nothing in quarantine{scope} ({released} row(s) released after a fixed re-import)."
        open_rows = sum(n for _, _, n in totals)
        lines = [f"{open_rows} row(s) in quarantine ({released} released earlier):"]
        lines += [f"  {e:<16} {r:<20} {n}" for e, r, n in totals]
        rows = con.execute(
            f"""select entity, regexp_replace(coalesce(source, '?'), '^.*/', ''), source_line, rule, reason, batch_id,
                       quarantined_at, cast(record_key as varchar)
                from tertulia.quarantine where {where}
                order by quarantined_at desc, entity, source, source_line limit ?""",  # noqa: S608 - constant text
            [*args, limit],
        ).fetchall()
        lines.append("")
        for ent, src, line, rule, reason, batch, at, key in rows:
            unit = "data row" if src.endswith((".csv", ".csv.gz")) else "line"
            where_txt = f"{src} {unit} {line}" if line is not None else src
            lines.append(
                f"- {ent} · {where_txt} · {rule} · key {key or '(unreadable)'} · batch {batch} · {at:%Y-%m-%d %H:%M}"
            )
            lines.append(f"    {_short(reason)}")
        if open_rows > len(rows):
            lines.append(f"… {open_rows - len(rows)} more; use --limit or --entity to see them.")
        lines.append("Fix the file and import it again: rows that then land are released from quarantine.")
        return "\n".join(lines)
    finally:
        con.close()
