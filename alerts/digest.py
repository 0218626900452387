"""The daily digest: yesterday's numbers and a 14-day chart, as one `digest` alert.

Days are the community's local days; marts below staging hold UTC timestamps, so a local day is turned
into a UTC range before filtering. A mart a run has not built yet gives "n/a" with the reason in the
context line instead of failing: a digest must never fail the run that sends it.

Response time is shown in business minutes, the unit of the `median_business_response_minutes` goal,
and the chart's line is the share of SLAs met, drawn against the `sla_met_share` goal when one is set.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb

from alerts.model import Alert
from tertulia.clock import local_days_utc
from tertulia.config import Config
from tertulia.response_times import ResponseNumbers, breached_between, response_numbers_by_local_day
from tertulia.trends import rising_terms

log = logging.getLogger("tertulia.alerts")

CHART_DAYS = 14
# Rising terms of the day shown on the digest's one line (fct_trending_terms, docs/trends.md).
RISING_TERMS = 3
COMMENTS = "Comments"
SLA_MET = "SLAs met %"


def _has_mart(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = ?",
            [name],
        ).fetchone()[0]
    )


def _goal_target(config: Config, metric: str) -> float | None:
    """The community-wide goal's target for `metric` (the first one configured), None when there is none."""
    for goal in config.goals:
        if goal.metric == metric and goal.platform is None and goal.account_id is None:
            return float(goal.target)
    return None


@dataclass
class DigestNumbers:
    facts: list[tuple[str, str]]
    notes: list[str]
    series: dict[str, dict[dt.date, float]]  # chart lines per local day
    goals: dict[str, float]  # chart series -> goal value on its axis


def collect(con: duckdb.DuckDBPyConnection, config: Config, day: dt.date) -> DigestNumbers:
    facts: list[tuple[str, str]] = []
    notes: list[str] = []
    series: dict[str, dict[dt.date, float]] = {}
    goals: dict[str, float] = {}
    first = day - dt.timedelta(days=CHART_DAYS - 1)
    start, end = local_days_utc(config.tz, day, day)

    if _has_mart(con, "dim_members"):
        n = con.execute(
            "select count(*) from marts.dim_members where first_seen_at >= ? and first_seen_at < ?",
            [start, end],
        ).fetchone()[0]
        facts.append(("New members", str(n)))
    else:
        facts.append(("New members", "n/a"))
        notes.append("dim_members not built")

    if _has_mart(con, "agg_engagement_daily"):
        rows = con.execute(
            "select metric_date, sum(comments) from marts.agg_engagement_daily "
            "where metric_date between ? and ? group by 1",
            [first, day],
        ).fetchall()
        per_day = {d: float(v or 0) for d, v in rows}
        series[COMMENTS] = per_day
        facts.append(("Comments", f"{int(per_day.get(day, 0))}"))
    else:
        facts.append(("Comments", "n/a"))
        notes.append("agg_engagement_daily not built")

    if _has_mart(con, "fct_sla_events"):
        by_day = response_numbers_by_local_day(con, config, *local_days_utc(config.tz, first, day))
        series[SLA_MET] = {d: 100.0 * n.met / n.decided for d, n in by_day.items() if n.decided}
        n = by_day.get(day, ResponseNumbers())
        facts.append(
            (
                "Response rate",
                f"{100.0 * n.answered / n.items:.0f} % ({n.answered} of {n.items})"
                if n.items
                else "no items",
            )
        )
        goal = _goal_target(config, "median_business_response_minutes")
        med = n.median_business_minutes
        med_text = f"{med:.0f} business min" if med is not None else "n/a"
        if med is not None and goal is not None:
            med_text += f" (goal ≤ {goal:.0f})"
        facts.append(("Median first response", med_text))
        met_goal = _goal_target(config, "sla_met_share")
        if met_goal is not None:
            goals[SLA_MET] = 100.0 * met_goal
        breached = breached_between(con, start, end)
        facts.append(("SLAs missed", str(breached)))
    else:
        facts += [("Response rate", "n/a"), ("Median first response", "n/a"), ("SLAs missed", "n/a")]
        notes.append("fct_sla_events not built")

    if _has_mart(con, "fct_goal_progress"):
        # The community-wide goal (no platform, no account) of the current period first, else the latest.
        row = con.execute(
            "select actual, target from marts.fct_goal_progress where metric = 'engagement_rate' "
            "order by (platform is null) desc, (account_id is null) desc, is_current_period desc, "
            "period_end_date desc limit 1"
        ).fetchone()
        if row and row[0] is not None:
            facts.append(
                ("Engagement rate", f"{100 * float(row[0]):.1f} % (goal {100 * float(row[1]):.1f} %)")
            )
        else:
            facts.append(("Engagement rate", "no engagement goal"))
    else:
        facts.append(("Engagement rate", "n/a"))
        notes.append("fct_goal_progress not built")

    if _has_mart(con, "fct_trending_terms"):
        terms = rising_terms(con, "day", day, limit=RISING_TERMS)
        text = "; ".join(t.describe("day", config.trends.baseline_periods) for t in terms)
        facts.append(("Rising terms", text or "none"))
    else:
        facts.append(("Rising terms", "n/a"))
        notes.append("fct_trending_terms not built")
    return DigestNumbers(facts, notes, series, goals)


def render_chart(
    series: dict[str, dict[dt.date, float]], day: dt.date, path: Path, goals: dict[str, float] | None = None
) -> Path | None:
    """PNG of the last 14 days: comments as bars, SLAs met as a line against its goal, with a legend.
    None when there is nothing to draw."""
    if not any(series.values()):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    goals = goals or {}
    days = [day - dt.timedelta(days=i) for i in range(CHART_DAYS - 1, -1, -1)]
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=110)
    try:
        x = list(range(len(days)))
        handles = []
        if series.get(COMMENTS):
            handles.append(
                ax.bar(
                    x,
                    [series[COMMENTS].get(d, 0) for d in days],
                    color="#7a9cc6",
                    label="Comments (left axis)",
                )
            )
            ax.set_ylabel("Comments")
        if series.get(SLA_MET):
            ax2 = ax.twinx()
            (line,) = ax2.plot(
                x,
                [series[SLA_MET].get(d, float("nan")) for d in days],
                color="#c0504d",
                marker="o",
                label="SLAs met % (right axis)",
            )
            handles.append(line)
            if SLA_MET in goals:
                handles.append(
                    ax2.axhline(
                        goals[SLA_MET],
                        color="#c0504d",
                        linestyle="--",
                        linewidth=1,
                        label=f"SLA goal {goals[SLA_MET]:.0f} %",
                    )  # fmt: skip
                )
            ax2.set_ylim(0, 105)
            ax2.set_ylabel("SLAs met %")
        # Weekday and day of month, one label a day, horizontal: "Mon 16".
        ax.set_xticks(x, [d.strftime("%a %d") for d in days], fontsize=8)
        ax.set_title(f"Last {CHART_DAYS} days to {day:%a %d %b %Y} (local days)")
        if handles:
            ax.legend(handles=handles, loc="upper left", fontsize=8, frameon=False,
                      bbox_to_anchor=(0, -0.12), ncol=len(handles))  # fmt: skip
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


def daily_digest(con: duckdb.DuckDBPyConnection, config: Config, *, day: dt.date) -> Alert:
    numbers = collect(con, config, day)
    chart = render_chart(
        numbers.series, day, config.local_dir / "charts" / f"digest-{day}.png", numbers.goals
    )
    reason = "daily digest of yesterday's numbers"
    if numbers.notes:
        reason += "; " + "; ".join(numbers.notes)
    return Alert(
        kind="digest",
        severity="info",
        dedupe_key=f"digest:{day.isoformat()}",
        title=f"{config.community.name}: {day:%A %d %B %Y}",
        facts=tuple(numbers.facts),
        occurred_at=local_days_utc(config.tz, day, day)[0],
        reason=reason,
        extra={"chart_path": str(chart)} if chart else {},
    )


def digest_due(con: duckdb.DuckDBPyConnection, config: Config, *, now: dt.datetime) -> Alert | None:
    """Yesterday's digest (local day), once: None if it is already in the outbox or no digest mart exists."""
    local_now = (
        now.replace(tzinfo=dt.UTC).astimezone(config.tz) if now.tzinfo is None else now.astimezone(config.tz)
    )
    if local_now.time() < config.slack.digest_at:
        return None
    day = local_now.date() - dt.timedelta(days=1)
    if not any(_has_mart(con, m) for m in ("agg_engagement_daily", "fct_sla_events", "dim_members")):
        return None
    from alerts.outbox import ensure_outbox

    ensure_outbox(con)
    exists = con.execute(
        "select count(*) from tertulia.alert_outbox where dedupe_key = ?", [f"digest:{day.isoformat()}"]
    ).fetchone()[0]
    return None if exists else daily_digest(con, config, day=day)
