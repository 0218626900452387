"""Response numbers read from `marts.fct_sla_events`, for the daily digest and the weekly report: the
items that arrived in a span, how many were answered, met and decided, the median business minutes to
the first response, and the SLAs missed. One query each, so the two read the same numbers.

Not from `marts.agg_response_times_daily`: that mart holds one median per local day, platform, account
and responding member, and the median of a whole community's day cannot be put together from the
medians of its parts; reading it would change the numbers both reports show.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from tertulia.config import Config
from tertulia.warehouse import is_postgres

# The aggregates of one span; arrived_at filters which items count.
_NUMBERS = (
    "count(*), count(first_response_at), count(*) filter (where status = 'met'), "
    "count(*) filter (where status in ('met', 'breached')), {median}"
)


def _numbers(con) -> str:
    """_NUMBERS in `con`'s dialect: PostgreSQL has no median(); DuckDB's is this interpolated quantile."""
    if is_postgres(con):
        return _NUMBERS.format(
            median="percentile_cont(0.5) within group (order by business_minutes_to_respond)"
        )
    return _NUMBERS.format(median="median(business_minutes_to_respond)")


@dataclass(frozen=True)
class ResponseNumbers:
    items: int = 0
    answered: int = 0
    met: int = 0
    decided: int = 0  # met or breached: a pending or at-risk item may still be met
    median_business_minutes: float | None = None

    @classmethod
    def of(cls, row: tuple) -> ResponseNumbers:
        items, answered, met, decided, median = row
        return cls(int(items), int(answered), int(met), int(decided), median)


def response_numbers(con: duckdb.DuckDBPyConnection, start: dt.datetime, end: dt.datetime) -> ResponseNumbers:
    """The items that arrived in [start, end) (naive UTC), all together."""
    row = con.execute(
        f"select {_numbers(con)} from marts.fct_sla_events where arrived_at >= ? and arrived_at < ?",  # noqa: S608
        [start, end],
    ).fetchone()
    return ResponseNumbers.of(row)


def response_numbers_by_local_day(
    con: duckdb.DuckDBPyConnection, config: Config, start: dt.datetime, end: dt.datetime
) -> dict[dt.date, ResponseNumbers]:
    """The items that arrived in [start, end) (naive UTC), per local day of arrival; days without an
    item are left out."""
    # The timezone name comes from validated config, not from data.
    tz = config.community.timezone.replace("'", "")
    local_day = f"cast(timezone('{tz}', timezone('UTC', arrived_at)) as date)"
    rows = con.execute(
        f"select {local_day} as d, {_numbers(con)} from marts.fct_sla_events "  # noqa: S608
        "where arrived_at >= ? and arrived_at < ? group by 1",
        [start, end],
    ).fetchall()
    return {d: ResponseNumbers.of(rest) for d, *rest in rows}


def breached_between(con: duckdb.DuckDBPyConnection, start: dt.datetime, end: dt.datetime) -> int:
    """SLAs whose deadline passed unanswered in [start, end) (naive UTC), whenever the item arrived."""
    return con.execute(
        "select count(*) from marts.fct_sla_events where is_breached and sla_breach_at >= ? and sla_breach_at < ?",
        [start, end],
    ).fetchone()[0]
