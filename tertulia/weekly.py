"""The weekly report: last week in one page, for the Prefect UI and the digest channel in Slack.

Written for the community manager and the comms lead, not for the people who run the pipeline: local
days with the zone named, percentages and units, goals against the target pro-rated for the period so
far, and no warehouse paths or row counts. Every number comes from a mart; a mart not built yet shows
as "n/a" instead of failing the report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

from tertulia.clock import local_days_utc
from tertulia.config import Config
from tertulia.response_times import breached_between, response_numbers
from tertulia.trends import RisingTerm, rising_terms

# How each goal metric reads (fct_goal_progress.metric): ratios as percentages, minutes with their unit.
GOAL_FORMATS = {
    "engagement_rate": lambda v: f"{100 * v:.1f} %",
    "follower_growth": lambda v: f"{100 * v:+.1f} %",
    "median_business_response_minutes": lambda v: f"{v:.0f} business min",
    "response_rate": lambda v: f"{100 * v:.0f} %",
    "sla_met_share": lambda v: f"{100 * v:.0f} %",
    "posts_published": lambda v: f"{v:.0f} posts",
}
TOP_MEMBERS = 3
# Rising terms of the week: the first few on the Slack message's list line, more in the Markdown section.
# Not among the facts: Slack shows ten fields a section, and the facts already fill them.
RISING_IN_FACTS = 3
RISING_IN_SECTION = 5


@dataclass
class Goal:
    name: str
    period: str  # "Nov 2026", "Q4 2026", "week of 16 Nov"
    actual: str
    target: str
    target_to_date: str
    on_track: str  # "yes" | "no" | "no data yet"


@dataclass
class WeeklyReport:
    community: str
    timezone: str
    week_start: dt.date  # local Monday
    facts: list[tuple[str, str]] = field(default_factory=list)  # the headline numbers, in reading order
    goals: list[Goal] = field(default_factory=list)
    top_members: list[str] = field(default_factory=list)
    rising: list[RisingTerm] = field(default_factory=list)  # "Rising this week", highest score first
    baseline_periods: int = 4
    trends_built: bool = False

    @property
    def week_end(self) -> dt.date:
        return self.week_start + dt.timedelta(days=6)

    @property
    def period_label(self) -> str:
        return f"Mon {self.week_start:%d %b} – Sun {self.week_end:%d %b %Y} ({self.timezone})"

    def rising_line(self) -> str:
        """The week's top rising terms on one line, for the Slack message."""
        if not self.trends_built:
            return "Rising this week: n/a (fct_trending_terms not built)"
        terms = "; ".join(t.describe("week", self.baseline_periods) for t in self.rising[:RISING_IN_FACTS])
        return f"Rising this week: {terms or 'none'}"

    @property
    def week_key(self) -> str:
        year, week, _ = self.week_start.isocalendar()
        return f"{year}-W{week:02d}"


def last_complete_week(now: dt.datetime, config: Config) -> dt.date:
    """The local Monday of the last full Monday–Sunday week before `now` (naive UTC)."""
    local = now.replace(tzinfo=dt.UTC).astimezone(config.tz).date()
    this_monday = local - dt.timedelta(days=local.weekday())
    return this_monday - dt.timedelta(days=7)


def _marts(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts'"
    ).fetchall()
    return {r[0] for r in rows}


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.0f} %" if whole else "n/a"


def _period_label(period: str, start: dt.date) -> str:
    if period == "month":
        return f"{start:%b %Y}"
    if period == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return f"week of {start:%d %b}"


def weekly_report(con: duckdb.DuckDBPyConnection, config: Config, week_start: dt.date) -> WeeklyReport:
    report = WeeklyReport(config.community.name, config.community.timezone, week_start)
    marts = _marts(con)
    start, end = local_days_utc(config.tz, week_start, week_start + dt.timedelta(days=6))
    facts = report.facts

    if "fct_sla_events" in marts:
        n = response_numbers(con, start, end)
        items, answered, met, decided, median = (
            n.items,
            n.answered,
            n.met,
            n.decided,
            n.median_business_minutes,
        )
        breached = breached_between(con, start, end)
        at_risk = con.execute(
            "select count(*) from marts.fct_sla_events where status = 'at_risk'"
        ).fetchone()[0]
        facts.append(("Messages to answer", f"{items}, {_pct(answered, items)} answered"))
        facts.append(("SLAs met", f"{_pct(met, decided)} ({met} of {decided} decided)"))
        # Missed among the week's messages, so that met + missed = decided as the footnote says; the
        # deadlines that passed during the week (some for messages of the week before) differ from it.
        missed = decided - met
        facts.append(
            (
                "SLAs missed",
                str(missed) if breached == missed else f"{missed} ({breached} deadlines passed this week)",
            )
        )
        facts.append(
            ("Median first response", f"{median:.0f} business min" if median is not None else "no answer yet")
        )
        facts.append(("At risk right now", str(at_risk)))
    else:
        facts.append(("Response times", "n/a (fct_sla_events not built)"))

    if "agg_engagement_daily" in marts:
        rows = con.execute(
            "select metric_date >= ? as this_week, sum(interactions), sum(post_impressions), "
            "sum(net_follower_change) from marts.agg_engagement_daily "
            "where metric_date >= ? and metric_date <= ? group by 1",
            [week_start, week_start - dt.timedelta(days=7), week_start + dt.timedelta(days=6)],
        ).fetchall()
        weeks = {bool(r[0]): r[1:] for r in rows}
        this = weeks.get(True, (0, 0, 0))
        last = weeks.get(False, (0, 0, 0))
        rate = (this[0] or 0) / this[1] if this[1] else None
        rate_last = (last[0] or 0) / last[1] if last[1] else None
        text = f"{100 * rate:.2f} %" if rate is not None else "no post impressions"
        if rate is not None and rate_last is not None:
            text += f" ({100 * (rate - rate_last):+.2f} points on the week before)"
        facts.append(("Engagement rate", text))
        facts.append(("Followers", f"{int(this[2] or 0):+d}"))
    else:
        facts.append(("Engagement", "n/a (agg_engagement_daily not built)"))

    if "dim_members" in marts:
        new = con.execute(
            "select count(*) from marts.dim_members where first_seen_at >= ? and first_seen_at < ?",
            [start, end],
        ).fetchone()[0]
        facts.append(("New members", str(new)))

    if "fct_crisis_incidents" in marts:
        # one row per crisis and account (int_crisis_episodes merges the signals): the week's crises are
        # the rows that started in it
        started, accounts = con.execute(
            "select count(*), count(distinct (platform, account_id)) from marts.fct_crisis_incidents "
            "where started_at >= ? and started_at < ?",
            [start, end],
        ).fetchone()
        where = f"{accounts} account" if accounts == 1 else f"{accounts} accounts"
        facts.append(("Crisis episodes", f"{started}, on {where}" if started else "none"))

    if "fct_goal_progress" in marts:
        rows = con.execute(
            "select goal_name, metric, period, period_start_date, actual, target, target_to_date, is_on_track "
            "from marts.fct_goal_progress where is_current_period order by goal_name"
        ).fetchall()
        for name, metric, period, p_start, actual, target, to_date, on_track in rows:
            fmt = GOAL_FORMATS.get(metric, lambda v: f"{v:g}")
            report.goals.append(
                Goal(
                    name=name,
                    period=_period_label(period, p_start),
                    actual=fmt(actual) if actual is not None else "n/a",
                    target=fmt(target),
                    target_to_date=fmt(to_date),
                    on_track="no data yet" if on_track is None else ("yes" if on_track else "no"),
                )
            )
        if report.goals:
            on = sum(1 for g in report.goals if g.on_track == "yes")
            facts.append(("Goals on track", f"{on} of {len(report.goals)}"))

    if "rpt_top_contributors_monthly" in marts:
        rows = con.execute(
            "select member_name, platform, activity_score, messages from marts.rpt_top_contributors_monthly "
            "where month_start_date = ? and member_name is not null order by activity_rank limit ?",
            [report.week_end.replace(day=1), TOP_MEMBERS],
        ).fetchall()
        # The rank is by activity points (a reply weighs more than a comment): with messages alone the
        # list looked out of order. The same wording as the run summary's top contributors.
        report.top_members = [f"{n} ({p}, {score:g} pts, {m} messages)" for n, p, score, m in rows]

    report.baseline_periods = config.trends.baseline_periods
    report.trends_built = "fct_trending_terms" in marts
    if report.trends_built:
        report.rising = rising_terms(con, "week", week_start, limit=RISING_IN_SECTION)
    return report


def _md(text: str) -> str:
    """Cell text for a Markdown table: member names are untrusted, pipes and newlines would break rows."""
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: WeeklyReport) -> str:
    lines = [f"# {_md(report.community)}: the week", "", f"**{report.period_label}**", ""]
    lines += ["| figure | the week |", "|---|---|"]
    lines += [f"| {label} | {_md(value)} |" for label, value in report.facts]
    if report.goals:
        lines += [
            "",
            "## Goals",
            "",
            "| goal | period | so far | target for the period so far | full target | on track |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {_md(g.name)} | {g.period} | {g.actual} | {g.target_to_date} | {g.target} | {g.on_track} |"
            for g in report.goals
        ]
    if report.rising:
        lines += [
            "",
            "## Rising this week",
            "",
            "| term | kind | members this week | change | messages | sentiment |",
            "|---|---|---|---|---|---|",
        ]
        for t in report.rising:
            change = t.change("week", report.baseline_periods).split(", ", 1)[1]
            lines.append(
                f"| {_md(t.surface)} | {t.kind} | {t.authors} | {change} | {t.mentions} | {t.sentiment()} |"
            )
    if report.top_members:
        lines += ["", f"## Most active members in {report.week_end:%B}", ""]
        lines += [f"{i}. {_md(m)}" for i, m in enumerate(report.top_members, 1)]
    lines += [
        "",
        "_SLA figures count the messages that arrived this week; response times are business minutes._",
    ]
    return "\n".join(lines)
