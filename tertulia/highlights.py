"""The demo summary's top engagement numbers, read from the marts of the pipeline's own warehouse.

`engagement_highlights` returns one readable line per highlight (the keys the run summary prints)
and, under "numbers", the same facts as plain values for artifacts and tests. Display names of members
appear here because the summary is printed on the community manager's own machine; the published marts
for BI carry pseudonyms instead (tertulia.publish).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

import duckdb

from tertulia.warehouse import table_exists

WINDOW_DAYS = 30


def _safe_text(value: object) -> str:
    """Member names are untrusted: drop control characters (terminal escapes) before printing."""
    return "".join(ch for ch in str(value) if unicodedata.category(ch)[0] != "C").strip()


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.1f} %"


def _engagement(con: duckdb.DuckDBPyConnection, end: dt.date) -> dict[str, Any]:
    start = end - dt.timedelta(days=WINDOW_DAYS - 1)
    interactions, impressions = con.execute(
        "select coalesce(sum(interactions), 0), coalesce(sum(post_impressions), 0) "
        "from marts.agg_engagement_daily where metric_date between ? and ?",
        [start, end],
    ).fetchone()
    rate = interactions / impressions if impressions else None
    target = direction = None
    if table_exists(con, "config", "goals"):
        # the community-wide engagement goal; goals limited to one platform or account are for BI
        row = con.execute(
            "select target, direction from config.goals where metric = 'engagement_rate' "
            "and platform is null and account_id is null order by goal_id limit 1"
        ).fetchone()
        if row:
            target, direction = float(row[0]), row[1]
    on_track = None
    if rate is not None and target is not None:
        on_track = rate >= target if direction == "at_least" else rate <= target
    return {
        "start_date": start,
        "end_date": end,
        "interactions": int(interactions),
        "post_impressions": int(impressions),
        "engagement_rate": rate,
        "goal_target": target,
        "goal_direction": direction,
        "on_track": on_track,
    }


def _best_slot(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    # A thin cell wins only when no cell has enough posts, and then it says so.
    row = con.execute(
        "select platform, account_id, published_weekday, published_weekday_name, published_hour, posts, "
        "rated_posts, median_engagement_rate, is_thin_sample from marts.rpt_best_time_to_post "
        "where median_engagement_rate is not null "
        "order by is_thin_sample, median_engagement_rate desc, rated_posts desc, platform, account_id, "
        "published_weekday, published_hour limit 1"
    ).fetchone()
    if row is None:
        return None
    keys = (
        "platform",
        "account_id",
        "weekday",
        "weekday_name",
        "hour",
        "posts",
        "rated_posts",
        "median_engagement_rate",
        "is_thin_sample",
    )
    return dict(zip(keys, row, strict=True))


def _calendar(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> dict[str, Any]:
    counts = dict(
        con.execute(
            "select status, count(*) from marts.fct_content_calendar "
            "where coalesce(planned_date, published_date) between ? and ? group by status",
            [start, end],
        ).fetchall()
    )
    due = sum(counts.get(s, 0) for s in ("on_time", "early", "late", "missed"))
    return {
        "start_date": start,
        "end_date": end,
        "due": due,
        **{s: counts.get(s, 0) for s in ("on_time", "early", "late", "missed", "pending", "unplanned")},
        "on_time_share": counts.get("on_time", 0) / due if due else None,
    }


def _top_contributors(con: duckdb.DuckDBPyConnection, limit: int = 3) -> dict[str, Any]:
    rows = con.execute(
        "select month_start_date, member_name, platform, activity_score, messages, helpful_replies "
        "from marts.rpt_top_contributors_monthly "
        "where month_start_date = (select max(month_start_date) from marts.rpt_top_contributors_monthly) "
        "order by activity_rank, messages desc, member_key limit ?",
        [limit],
    ).fetchall()
    return {
        "month_start_date": rows[0][0] if rows else None,
        "members": [
            {
                "name": _safe_text(r[1]) if r[1] else "(no name)",
                "platform": r[2],
                "activity_score": float(r[3]),
                "messages": int(r[4]),
                "helpful_replies": int(r[5]),
            }
            for r in rows
        ],
    }


def engagement_highlights(
    con: duckdb.DuckDBPyConnection, *, as_of_date: dt.date | None = None
) -> dict[str, Any]:
    """Top numbers for the run summary: engagement rate (last 30 days) vs goal, best posting slot,
    calendar adherence, top 3 contributors of the latest month.

    The 30-day window ends at `as_of_date`, by default the latest day with engagement data (so a demo on
    an old sample still shows its last month). A highlight whose mart is missing is left out.
    """
    out: dict[str, Any] = {}
    numbers: dict[str, Any] = {}
    if table_exists(con, "marts", "agg_engagement_daily"):
        end = (
            as_of_date or con.execute("select max(metric_date) from marts.agg_engagement_daily").fetchone()[0]
        )
        if end is not None:
            e = numbers["engagement"] = _engagement(con, end)
            goal = ""
            if e["goal_target"] is not None:
                sign = "≥" if e["goal_direction"] == "at_least" else "≤"
                verdict = "n/a" if e["on_track"] is None else ("on track" if e["on_track"] else "below goal")
                goal = f" vs goal {sign} {_pct(e['goal_target'])}: {verdict}"
            out["engagement_rate_vs_goal"] = (
                f"{_pct(e['engagement_rate'])} ({e['interactions']:,} interactions / "
                f"{e['post_impressions']:,} post impressions, {e['start_date']}..{e['end_date']}){goal}"
            )
            if table_exists(con, "marts", "fct_content_calendar"):
                c = numbers["calendar"] = _calendar(con, e["start_date"], e["end_date"])
                if c["due"] or c["unplanned"]:
                    out["calendar_adherence"] = (
                        f"{c['on_time']} of {c['due']} planned posts on time ({_pct(c['on_time_share'])}); "
                        f"{c['late']} late, {c['early']} early, {c['missed']} missed, "
                        f"{c['unplanned']} unplanned ({c['start_date']}..{c['end_date']})"
                    )
    if table_exists(con, "marts", "rpt_best_time_to_post"):
        slot = numbers["best_slot"] = _best_slot(con)
        if slot:
            thin = ", thin sample: not a finding yet" if slot["is_thin_sample"] else ""
            out["best_slot"] = (
                f"{slot['weekday_name']} {slot['hour']:02d}:00 on {slot['platform']}/{slot['account_id']}: "
                f"median engagement {_pct(slot['median_engagement_rate'])} over {slot['rated_posts']} posts{thin}"
            )
    if table_exists(con, "marts", "rpt_top_contributors_monthly"):
        top = numbers["top_contributors"] = _top_contributors(con)
        if top["members"]:
            names = ", ".join(
                f"{m['name']} ({m['platform']}, {m['activity_score']:g} pts, {m['messages']} messages)"
                for m in top["members"]
            )
            out["top_contributors"] = f"{top['month_start_date']:%B %Y}: {names}"
    out["numbers"] = numbers
    return out
