"""How the pipeline shows an instant to people: the community's wall-clock time with its zone.

Every timestamp below staging is naive UTC (DEVELOPERS.md); whatever a person reads (a Slack message, a
report, the quality page) shows it as `2026-11-27 13:02 (America/Guayaquil)`, never bare UTC.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def to_local(ts: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A naive UTC instant (or an aware one) as the community's aware local time."""
    aware = ts if ts.tzinfo is not None else ts.replace(tzinfo=dt.UTC)
    return aware.astimezone(tz)


def local_label(ts: dt.datetime | None, tz: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """'2026-11-27 13:02 (America/Guayaquil)' for 2026-11-27 18:02 UTC; '' for no time."""
    if ts is None:
        return ""
    return f"{to_local(ts, tz):{fmt}} ({tz.key})"


def local_span(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> str:
    """'2026-11-20 10:00 to 16:00 (America/Guayaquil)'; the end's date is shown when it differs."""
    a, b = to_local(start, tz), to_local(end, tz)
    until = f"{b:%H:%M}" if a.date() == b.date() else f"{b:%Y-%m-%d %H:%M}"
    return f"{a:%Y-%m-%d %H:%M} to {until} ({tz.key})"


def local_days_utc(tz: ZoneInfo, first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Naive UTC [start, end) covering the local days `first` to `last`: how the digest, the weekly
    report and the trend alerts filter marts (UTC timestamps) by the community's days."""

    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(0), tz).astimezone(dt.UTC).replace(tzinfo=None)

    return midnight(first), midnight(last + dt.timedelta(days=1))
