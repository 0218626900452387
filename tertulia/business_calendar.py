"""The community's business calendar: opening spans in UTC, and business-minute arithmetic on them.

Opening hours are configured as local wall-clock spans per weekday (`business_hours.weekly`), minus
public holidays (the `holidays` package) and extra closed dates. Converting each local span to UTC
here, day by day, is what makes daylight-saving switches exact: SQL then only sums overlaps of UTC
intervals and never needs timezone rules. `write_business_intervals` stores the spans as
`config.business_intervals`; `business_minutes` and `business_deadline` are the Python reference the
SQL is tested against.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from tertulia.config import WEEKDAYS, BusinessHours, Config, Quality
from tertulia.schema import ensure_state, replace_config_table

# How far around the data the calendar is generated: a week before the earliest comment (a comment's
# local time may sit a day off its UTC date) to a year ahead (deadlines of items arriving today).
LEAD_DAYS = 7
AHEAD_DAYS = 366
# Without any comment yet, start this far back so a first import of history is covered on the next run.
DEFAULT_BACK_DAYS = 400
# The earliest plausible date when no config says (the default of quality.earliest_timestamp).
DEFAULT_FLOOR: dt.date = Quality.model_fields["earliest_timestamp"].default


@dataclass(frozen=True)
class Interval:
    """One opening span: [open_at, close_at) in UTC (naive), and the local date it belongs to."""

    local_date: dt.date
    open_at: dt.datetime
    close_at: dt.datetime


@dataclass(frozen=True)
class BusinessCalendar:
    """Sorted, non-overlapping opening spans in UTC."""

    intervals: tuple[Interval, ...]

    def __post_init__(self) -> None:
        for a, b in zip(self.intervals, self.intervals[1:], strict=False):
            if b.open_at < a.close_at:
                raise ValueError(f"business intervals overlap: {a} and {b}")


def _parse_span(span: str) -> tuple[int, int]:
    """'09:00-18:00' as minutes of the day (540, 1080); the config validator checked the shape."""
    start, end = span.split("-")
    sh, sm = (int(x) for x in start.split(":"))
    eh, em = (int(x) for x in end.split(":"))
    return sh * 60 + sm, eh * 60 + em


def _local_to_utc(day: dt.date, minute_of_day: int, tz: ZoneInfo) -> dt.datetime:
    """Local wall-clock `day` + minutes (24:00 allowed) as naive UTC.

    A wall time that does not exist (inside a spring-forward gap) is read with the offset before the
    switch (fold=0), which lands it just after the gap: the span starts when the clock allows.
    """
    local = dt.datetime.combine(day, dt.time(0, 0)) + dt.timedelta(minutes=minute_of_day)
    return local.replace(tzinfo=tz).astimezone(dt.UTC).replace(tzinfo=None)


def closed_dates(hours: BusinessHours, years: range) -> set[dt.date]:
    """Public holidays of the configured country (and subdivision) plus the extra closed dates."""
    closed = set(hours.extra_holidays)
    if hours.holidays_country:
        import holidays

        try:
            cal = holidays.country_holidays(
                hours.holidays_country, subdiv=hours.holidays_subdivision, years=list(years)
            )
        except NotImplementedError as exc:
            raise ValueError(
                f"business_hours.holidays_subdivision: {hours.holidays_subdivision!r} is not a subdivision of "
                f"{hours.holidays_country!r} in the holidays package ({exc}); fix or remove it"
            ) from None
        closed.update(cal.keys())
    return closed


def build_calendar(hours: BusinessHours, timezone: str, start: dt.date, end: dt.date) -> BusinessCalendar:
    """Opening spans for every local date from `start` to `end` inclusive."""
    tz = ZoneInfo(timezone)
    closed = closed_dates(hours, range(start.year, end.year + 1))
    spans_by_weekday = {
        WEEKDAYS.index(day): sorted(_parse_span(s) for s in spans) for day, spans in hours.weekly.items()
    }
    out: list[Interval] = []
    day = start
    while day <= end:
        if day not in closed:
            for open_min, close_min in spans_by_weekday.get(day.weekday(), []):
                open_at = _local_to_utc(day, open_min, tz)
                close_at = _local_to_utc(day, close_min, tz)
                if close_at <= open_at:
                    continue  # a span swallowed by a DST gap
                if out and open_at < out[-1].close_at:
                    # overlapping spans of one day (e.g. "09:00-13:00" and "12:00-18:00"): merge them
                    prev = out.pop()
                    open_at, close_at = prev.open_at, max(prev.close_at, close_at)
                out.append(Interval(day, open_at, close_at))
        day += dt.timedelta(days=1)
    return BusinessCalendar(tuple(out))


def calendar_for(config: Config, start: dt.date, end: dt.date) -> BusinessCalendar:
    return build_calendar(config.business_hours, config.community.timezone, start, end)


def _minutes(a: dt.datetime, b: dt.datetime) -> float:
    return (b - a).total_seconds() / 60.0


def calendar_minutes(start: dt.datetime, end: dt.datetime) -> float:
    """Elapsed wall time in minutes; a reply before the item (clock skew) is 0, never negative."""
    return max(0.0, _minutes(start, end))


def business_minutes(start: dt.datetime, end: dt.datetime, calendar: BusinessCalendar) -> float:
    """Open minutes between two naive UTC instants; 0 when `end` is not after `start`."""
    if end <= start:
        return 0.0
    total = 0.0
    for iv in calendar.intervals:
        if iv.open_at >= end:
            break
        lo, hi = max(iv.open_at, start), min(iv.close_at, end)
        if hi > lo:
            total += _minutes(lo, hi)
    return total


def business_deadline(start: dt.datetime, minutes: float, calendar: BusinessCalendar) -> dt.datetime | None:
    """The instant at which `minutes` open minutes have passed since `start` (naive UTC).

    A deadline that lands exactly on a closing time is that closing time, not the next opening.
    None when the calendar ends first (extend its range).
    """
    if minutes <= 0:
        return start
    left = float(minutes)
    opens = [iv.open_at for iv in calendar.intervals]
    i = max(0, bisect_right(opens, start) - 1)
    for iv in calendar.intervals[i:]:
        lo = max(iv.open_at, start)
        if iv.close_at <= lo:
            continue
        span = _minutes(lo, iv.close_at)
        if span >= left:
            return lo + dt.timedelta(minutes=left)
        left -= span
    return None


def _stored_bounds(
    con: duckdb.DuckDBPyConnection, floor: dt.date
) -> tuple[dt.date | None, dt.datetime | None]:
    """The stored earliest comment date and how far raw.comments was scanned for it (None, None: scan
    every comment)."""
    ensure_state(con, "calendar_bounds")
    stored = con.execute(
        "select earliest_comment_date, scanned_through from tertulia.calendar_bounds where id = 1"
    ).fetchall()
    earliest, through = stored[0] if stored else (None, None)
    if earliest is not None and earliest < floor:
        return None, None  # stored by an earlier version: scan everything again, once
    return earliest, through


def scanned_through(con: duckdb.DuckDBPyConnection, floor: dt.date) -> dt.datetime | None:
    """Which comments the next `write_business_intervals` reads: those landed after this instant or
    without a landing time; every comment when None. A PostgreSQL import copies these into its scratch
    DuckDB beside tertulia.calendar_bounds, so the calendar it writes is the one DuckDB would."""
    return _stored_bounds(con, floor)[1]


def _earliest_comment_date(con: duckdb.DuckDBPyConnection, floor: dt.date) -> dt.date | None:
    """The earliest day a landed comment was written, kept in tertulia.calendar_bounds.

    Only comments landed since the last look are read (landing times only grow): a full scan of the
    comments' timestamps on every run cost two seconds a run at 10M comments. Days before `floor`
    (the earliest plausible date, `quality.earliest_timestamp`) are ignored, here and in what an
    earlier version stored: the importer quarantines such dates, and one that landed before it did
    (year 0001, 1970) must neither stretch the calendar over centuries nor overflow its arithmetic."""
    from tertulia.warehouse import table_exists

    if not table_exists(con, "raw", "comments"):
        return None  # no raw schema yet
    earliest, through = _stored_bounds(con, floor)
    new_earliest, new_through = con.execute(
        "select min(d) filter (where d >= $floor), max(_loaded_at) from "
        "(select try_cast(substr(trim(created_at), 1, 10) as date) as d, _loaded_at from raw.comments "
        " where $through is null or _loaded_at is null or _loaded_at > $through)",
        {"through": through, "floor": floor},
    ).fetchall()[0]

    if new_earliest is not None and (earliest is None or new_earliest < earliest):
        earliest = new_earliest
    if new_through is not None and (through is None or new_through > through):
        through = new_through
    con.execute("insert or replace into tertulia.calendar_bounds values (1, ?, ?)", [earliest, through])
    return earliest


def calendar_range(
    con: duckdb.DuckDBPyConnection, today: dt.date, floor: dt.date = DEFAULT_FLOOR
) -> tuple[dt.date, dt.date]:
    """From a week before the earliest landed comment (not before `floor`) to a year after today."""
    earliest = _earliest_comment_date(con, floor) or today - dt.timedelta(days=DEFAULT_BACK_DAYS)
    return min(earliest, today) - dt.timedelta(days=LEAD_DAYS), today + dt.timedelta(days=AHEAD_DAYS)


def write_business_intervals(
    con: duckdb.DuckDBPyConnection, config: Config, *, today: dt.date | None = None
) -> int:
    """Write config.business_intervals (one row per opening span) and return how many spans."""

    today = today or dt.datetime.now(dt.UTC).date()
    start, end = calendar_range(con, today, config.quality.earliest_timestamp)
    cal = calendar_for(config, start, end)
    business_policies = [p.name for p in config.sla.policies if p.business_time]
    if not cal.intervals and business_policies:
        raise ValueError(
            f"community.yml: business_hours has no opening hours between {start} and {end}, but SLA "
            f"policies {', '.join(business_policies)} count business time; add business_hours.weekly spans "
            "or set business_time: false on those policies"
        )
    frame = pd.DataFrame(
        [(iv.local_date, iv.open_at, iv.close_at) for iv in cal.intervals],
        columns=["local_date", "open_at", "close_at"],
    )
    replace_config_table(
        con,
        "business_intervals",
        [("local_date", "date"), ("open_at", "timestamp"), ("close_at", "timestamp")],
        frame,
    )
    return len(frame)
