"""Plain views of a run's results, for the Prefect UI artifacts and the console summary.

Every function reads what exists: a mart that a run did not build (yet) gives an empty answer rather
than an error, because a summary must never fail the run it summarises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import duckdb

from tertulia import warehouse
from tertulia.clock import local_label
from tertulia.config import Config

if TYPE_CHECKING:
    from connectors.files import ImportReport


def _query(config: Config, sql: str, params: list | None = None) -> list[dict[str, Any]]:
    """Rows as dicts; [] when the warehouse or a table is missing."""
    where = config.warehouse_location
    if not warehouse.exists(where):
        return []
    con = warehouse.connect(where)
    try:
        cur = con.execute(sql, params or [])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    except duckdb.CatalogException:
        return []
    finally:
        con.close()


def import_rows(report: ImportReport | None) -> list[dict[str, Any]]:
    """One row per entity the bundle import landed; none when no bundle was imported."""
    if report is None:
        return []
    return [
        {
            "entity": name,
            "rows_read": r.rows_in,
            "inserted": r.inserted,
            "updated": r.updated,
            "unchanged": r.unchanged,
            "quarantined": r.quarantined,
        }
        for name, r in report.entities.items()
    ]


def mart_row_counts(config: Config) -> list[dict[str, Any]]:
    tables = _query(
        config,
        "select table_name from information_schema.tables where table_schema = 'marts' order by table_name",
    )
    if not tables:
        return []
    # One query for all marts. Names come from the catalog, not from users; quoted as identifiers.
    names = [t["table_name"] for t in tables]
    counts = " union all ".join(f"select '{n}' as mart, count(*) as rows from marts.\"{n}\"" for n in names)  # noqa: S608
    return _query(config, f"{counts} order by mart")  # noqa: S608


def sla_attention_rows(config: Config, limit: int = 50) -> list[dict[str, Any]]:
    """What needs an answer first, as the community manager reads it: unanswered items at risk (the
    nearest deadline first), then those breached in the last day (the latest first); older breaches are
    history for the digest, not a to-do. Times are local with their zone, accounts and owners by name."""
    rows = _query(
        config,
        """
        with open_items as (
            select e.*, max(e.evaluated_at) over () as as_of
            from marts.fct_sla_events as e
            where e.is_active and e.status in ('at_risk', 'breached')
        )
        select i.status, i.platform, i.account_id, i.channel, i.policy_name, i.arrived_at, i.sla_breach_at,
               coalesce(t.member_name, i.owner_member_id) as owner,
               left(coalesce(i.item_message, ''), 80) as message
        from open_items as i
        left join staging.stg_social__team as t on t.member_id = i.owner_member_id
        where i.status = 'at_risk' or i.sla_breach_at >= i.as_of - interval '1 day'
        order by i.status = 'breached', case when i.status = 'at_risk' then i.sla_breach_at end,
                 i.sla_breach_at desc, i.platform, i.account_id
        limit ?
        """,
        [limit],
    )
    accounts = {(a.platform, a.account_id): a.name or a.handle or a.account_id for a in config.accounts}
    return [
        {
            "status": "at risk" if r["status"] == "at_risk" else "breached",
            "account": f"{accounts.get((r['platform'], r['account_id']), r['account_id'])} ({r['platform']})",
            "channel": r["channel"],
            "policy": r["policy_name"],
            "arrived": local_label(r["arrived_at"], config.tz),
            "deadline": local_label(r["sla_breach_at"], config.tz),
            "owner": r["owner"],
            "message": r["message"],
        }
        for r in rows
    ]


def sla_counts(config: Config) -> dict[str, int]:
    rows = _query(config, "select status, count(*) as n from marts.fct_sla_events group by status")
    return {r["status"]: r["n"] for r in rows}


def crisis_incidents(config: Config, limit: int = 10) -> list[dict[str, Any]]:
    """The accounts' crises (one row each, marts.fct_crisis_incidents), at most `limit`: the most severe
    first, then in order of start, so the summary leads with the crisis, not with the newest single-signal
    "watch" hour. Counts come from crisis_counts, never from len() of this list."""
    return _query(
        config,
        """
        select * from marts.fct_crisis_incidents
        order by case peak_severity when 'critical' then 0 when 'warning' then 1 else 2 end, started_at
        limit ?
        """,
        [limit],
    )


def crisis_counts(config: Config) -> dict[str, int] | None:
    """Crises in the marts: `accounts` (rows of fct_crisis_incidents), `open` of them, `alerted` of them
    (reached warning), `community` (rows of fct_crisis_incidents_community); None when not built."""
    rows = _query(
        config,
        """
        select count(*) as accounts, count(*) filter (where is_open) as open,
            count(*) filter (where first_alert_at is not null) as alerted
        from marts.fct_crisis_incidents
        """,
    )
    if not rows:
        return None
    out = {k: int(v) for k, v in rows[0].items()}
    community = _query(config, "select count(*) as n from marts.fct_crisis_incidents_community")
    out["community"] = int(community[0]["n"]) if community else 0
    return out


def crisis_markdown(config: Config) -> str:
    counts = crisis_counts(config)
    if not counts or not (counts["accounts"] or counts["community"]):
        return "## Crisis incidents\n\nNo crisis incident detected."
    incidents = crisis_incidents(config)
    shown = f", the {len(incidents)} most severe below" if len(incidents) < counts["accounts"] else ""
    lines = [
        "## Crisis incidents",
        "",
        f"{counts['accounts']} crises on brand accounts ({counts['alerted']} alerted, {counts['open']} open"
        f"{shown}); {counts['community']} community-wide. Times in UTC.",
        "",
        "| started | ended | platform | account | signals | peak severity |",
        "|---|---|---|---|---|---|",
    ]
    for i in incidents:
        lines.append(
            f"| {i.get('started_at')} | {i.get('ended_at') or 'ongoing'} | {i.get('platform')} | "
            f"{i.get('account_id')} | {i.get('signals')} | {i.get('peak_severity')} |"
        )
    return "\n".join(lines)


def earlier_engine_notice(config: Config) -> str | None:
    """The sentence naming the comments an earlier sentiment engine version scored and the command that
    scores them again (enrichment.versions, as `tertulia status` prints it); None when there are none."""
    from enrichment.versions import earlier_versions, earlier_versions_notice

    where = config.warehouse_location
    if not warehouse.exists(where):
        return None
    con = warehouse.connect(where)
    try:
        return earlier_versions_notice(earlier_versions(con))
    finally:
        con.close()


def raw_counts(config: Config) -> dict[str, int]:
    from tertulia.contract import ENTITIES

    out = {}
    for name in ENTITIES:
        rows = _query(config, f"select count(*) as n from raw.{name}")  # noqa: S608 (names from the contract)
        out[name] = rows[0]["n"] if rows else 0
    return out
