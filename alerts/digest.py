"""The daily digest: yesterday's numbers and a 14-day chart, as one `digest` alert.

The marts it reads are built by other parts of the project and may be missing or still changing shape,
so each number looks its table and columns up in `information_schema` first and says "n/a" (with the
reason in the context line) instead of failing. Days are the community's local days; marts below
staging hold UTC timestamps, so a local day is turned into a UTC range before filtering.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb

from alerts.model import Alert
from tertulia.config import Config

log = logging.getLogger("tertulia.alerts")

CHART_DAYS = 14

# Candidate column names, first match wins (the marts are being written while this is).
DAY_COLS = ("metric_date", "local_date", "date_day", "day", "activity_date", "date")
COMMENT_COLS = ("comments", "comment_count", "comments_count", "interactions_comments")
FIRST_SEEN_COLS = ("first_seen_at", "first_seen", "first_seen_on", "first_comment_at")
ARRIVED_COLS = ("arrived_at", "received_at", "created_at")
RESPONSE_COLS = ("first_response_at", "responded_at")
BREACH_AT_COLS = ("sla_breach_at", "breach_at")
BREACH_FLAG_COLS = ("is_breached", "breached", "breach", "is_breach", "sla_breached", "breach_flag")
ITEMS_COLS = ("items", "item_count", "items_count", "n_items")
ANSWERED_SHARE_COLS = ("answered_share", "response_rate", "share_answered")
MEDIAN_COLS = (
    "median_first_response_minutes",
    "median_calendar_minutes",
    "median_response_minutes",
    "median_minutes_calendar",
)
GOAL_METRIC_COLS = ("metric",)
GOAL_ACTUAL_COLS = ("actual", "actual_value", "value")
GOAL_TARGET_COLS = ("target", "target_value")
GOAL_PERIOD_END_COLS = ("period_end_date", "period_end", "period_start_date", "period_start")


@dataclass
class _Mart:
    name: str
    columns: dict[str, str]  # column -> data type

    def pick(self, candidates: tuple[str, ...]) -> str | None:
        return next((c for c in candidates if c in self.columns), None)

    def is_date(self, column: str) -> bool:
        return self.columns[column].upper() == "DATE"


def _mart(con: duckdb.DuckDBPyConnection, name: str) -> _Mart | None:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns where table_schema = 'marts' "
        "and table_name = ? order by ordinal_position",
        [name],
    ).fetchall()
    return _Mart(name, {c: t for c, t in rows}) if rows else None


def _utc_range(config: Config, first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """UTC naive [start, end) covering local days first..last."""
    tz = config.tz
    start = dt.datetime.combine(first, dt.time(0), tz).astimezone(dt.UTC).replace(tzinfo=None)
    end = (
        dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tz)
        .astimezone(dt.UTC)
        .replace(tzinfo=None)
    )
    return start, end


def _local_day_sql(column: str, config: Config) -> str:
    # UTC naive -> local date; the timezone name comes from validated config, not from data.
    tz = config.community.timezone.replace("'", "")
    return f"cast(timezone('{tz}', timezone('UTC', {column})) as date)"


@dataclass
class DigestNumbers:
    facts: list[tuple[str, str]]
    notes: list[str]
    series: dict[str, dict[dt.date, float]]  # chart lines per local day
    columns_read: list[str]


def collect(con: duckdb.DuckDBPyConnection, config: Config, day: dt.date) -> DigestNumbers:
    facts: list[tuple[str, str]] = []
    notes: list[str] = []
    series: dict[str, dict[dt.date, float]] = {}
    read: list[str] = []
    first = day - dt.timedelta(days=CHART_DAYS - 1)
    start, end = _utc_range(config, day, day)

    members = _mart(con, "dim_members")
    col = members.pick(FIRST_SEEN_COLS) if members else None
    if members and col:
        read.append(f"dim_members.{col}")
        where = f"{col} = ?" if members.is_date(col) else f"{col} >= ? and {col} < ?"
        params = [day] if members.is_date(col) else [start, end]
        n = con.execute(f"select count(*) from marts.dim_members where {where}", params).fetchone()[0]  # noqa: S608
        facts.append(("New members", str(n)))
    else:
        facts.append(("New members", "n/a"))
        notes.append("dim_members (first seen) not built")

    eng = _mart(con, "fct_engagement_daily")
    dcol = eng.pick(DAY_COLS) if eng else None
    ccol = eng.pick(COMMENT_COLS) if eng else None
    if eng and dcol and ccol:
        read += [f"fct_engagement_daily.{dcol}", f"fct_engagement_daily.{ccol}"]
        rows = con.execute(
            f"select cast({dcol} as date) d, sum({ccol}) from marts.fct_engagement_daily "  # noqa: S608
            f"where cast({dcol} as date) between ? and ? group by 1",
            [first, day],
        ).fetchall()
        per_day = {d: float(v or 0) for d, v in rows}
        series["Comments"] = per_day
        facts.append(("Comments", f"{int(per_day.get(day, 0))}"))
    else:
        facts.append(("Comments", "n/a"))
        notes.append("fct_engagement_daily (comments) not built")

    sla = _mart(con, "fct_sla_events")
    arrived = sla.pick(ARRIVED_COLS) if sla else None
    responded = sla.pick(RESPONSE_COLS) if sla else None
    if sla and arrived and responded:
        read += [f"fct_sla_events.{arrived}", f"fct_sla_events.{responded}"]
        local = _local_day_sql(arrived, config)
        rows = con.execute(
            f"select {local} d, count(*), count({responded}), "  # noqa: S608
            f"median(date_diff('second', {arrived}, {responded}) / 60.0) "
            f"from marts.fct_sla_events where {arrived} >= ? and {arrived} < ? group by 1",
            list(_utc_range(config, first, day)),
        ).fetchall()
        by_day = {d: (int(n), int(answered), med) for d, n, answered, med in rows}
        series["Response rate %"] = {d: 100.0 * a / n for d, (n, a, _) in by_day.items() if n}
        n, answered, med = by_day.get(day, (0, 0, None))
        facts.append(("Response rate", f"{100.0 * answered / n:.0f} % ({answered}/{n})" if n else "no items"))
        facts.append(("Median response", f"{med:.0f} min" if med is not None else "n/a"))
    else:
        agg = _mart(con, "agg_response_times_daily")
        adcol = agg.pick(DAY_COLS) if agg else None
        items, share, median = (
            (agg.pick(ITEMS_COLS), agg.pick(ANSWERED_SHARE_COLS), agg.pick(MEDIAN_COLS))
            if agg
            else (None, None, None)
        )
        if agg and adcol and items and share:
            read += [f"agg_response_times_daily.{c}" for c in (adcol, items, share, median) if c]
            row = con.execute(
                f"select sum({items}), sum({share} * {items}), "  # noqa: S608
                + (f"sum({median} * {items}) / nullif(sum({items}), 0) " if median else "null ")
                + f"from marts.agg_response_times_daily where cast({adcol} as date) = ?",
                [day],
            ).fetchone()
            n, answered, med = row
            facts.append(("Response rate", f"{100.0 * answered / n:.0f} %" if n else "no items"))
            facts.append(("Median response", f"≈{med:.0f} min" if med is not None else "n/a"))
            if med is not None:
                notes.append("median response is an item-weighted mean of per-group medians")
        else:
            facts += [("Response rate", "n/a"), ("Median response", "n/a")]
            notes.append("fct_sla_events / agg_response_times_daily not built")

    breach_at = sla.pick(BREACH_AT_COLS) if sla else None
    flag = sla.pick(BREACH_FLAG_COLS) if sla else None
    if sla and breach_at and flag:
        read += [f"fct_sla_events.{breach_at}", f"fct_sla_events.{flag}"]
        n = con.execute(
            f"select count(*) from marts.fct_sla_events where {flag} and {breach_at} >= ? and {breach_at} < ?",  # noqa: S608
            [start, end],
        ).fetchone()[0]
        facts.append(("SLAs missed", str(n)))
    else:
        facts.append(("SLAs missed", "n/a"))

    goals = _mart(con, "fct_goal_progress")
    metric = goals.pick(GOAL_METRIC_COLS) if goals else None
    actual = goals.pick(GOAL_ACTUAL_COLS) if goals else None
    target = goals.pick(GOAL_TARGET_COLS) if goals else None
    if goals and metric and actual and target:
        # The community-wide goal (no platform) of the current period first, else the latest one.
        order = [f"({c} is null) desc" for c in ("platform", "account_id") if c in goals.columns]
        order += [f"{c} desc" for c in ("is_current_period",) if c in goals.columns]
        end = goals.pick(GOAL_PERIOD_END_COLS)
        order += [f"{end} desc"] if end else []
        read += [f"fct_goal_progress.{c}" for c in (metric, actual, target, end) if c]
        read += [
            f"fct_goal_progress.{c}"
            for c in ("platform", "account_id", "is_current_period")
            if c in goals.columns
        ]
        row = con.execute(
            f"select {actual}, {target} from marts.fct_goal_progress where {metric} = 'engagement_rate' "  # noqa: S608
            + (f"order by {', '.join(order)} " if order else "")
            + "limit 1"
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
    return DigestNumbers(facts, notes, series, read)


def render_chart(series: dict[str, dict[dt.date, float]], day: dt.date, path: Path) -> Path | None:
    """PNG of the last 14 days: comments as bars, response rate as a line. None when there is nothing to draw."""
    if not any(series.values()):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days = [day - dt.timedelta(days=i) for i in range(CHART_DAYS - 1, -1, -1)]
    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=100)
    try:
        labels = [d.strftime("%d %b") for d in days]
        if series.get("Comments"):
            ax.bar(labels, [series["Comments"].get(d, 0) for d in days], color="#7a9cc6", label="Comments")
            ax.set_ylabel("Comments")
        if series.get("Response rate %"):
            ax2 = ax.twinx()
            ax2.plot(
                labels,
                [series["Response rate %"].get(d, float("nan")) for d in days],
                color="#c0504d",
                marker="o",
                label="Response rate %",
            )
            ax2.set_ylim(0, 105)
            ax2.set_ylabel("Response rate %")
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        ax.set_title(f"Last {CHART_DAYS} days to {day:%Y-%m-%d}")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


def daily_digest(con: duckdb.DuckDBPyConnection, config: Config, *, day: dt.date) -> Alert:
    numbers = collect(con, config, day)
    chart = render_chart(numbers.series, day, config.warehouse_path.parent / "charts" / f"digest-{day}.png")
    reason = "daily digest of yesterday's numbers"
    if numbers.notes:
        reason += "; " + "; ".join(numbers.notes)
    return Alert(
        kind="digest",
        severity="info",
        dedupe_key=f"digest:{day.isoformat()}",
        title=f"{config.community.name}: {day:%A %d %B %Y}",
        facts=tuple(numbers.facts),
        occurred_at=_utc_range(config, day, day)[0],
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
    if not any(_mart(con, m) for m in ("fct_engagement_daily", "fct_sla_events", "dim_members")):
        return None
    from alerts.outbox import ensure_outbox

    ensure_outbox(con)
    exists = con.execute(
        "select count(*) from tertulia.alert_outbox where dedupe_key = ?", [f"digest:{day.isoformat()}"]
    ).fetchone()[0]
    return None if exists else daily_digest(con, config, day=day)
