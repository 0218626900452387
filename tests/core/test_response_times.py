"""The response numbers the daily digest and the weekly report read (tertulia.response_times), and the
local days they are read over (tertulia.clock.local_days_utc), on a hand-made fct_sla_events."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb
import pytest

from tertulia.clock import local_days_utc
from tertulia.response_times import (
    ResponseNumbers,
    breached_between,
    response_numbers,
    response_numbers_by_local_day,
)

T = dt.datetime


def test_local_days_in_utc():
    # Ecuador keeps UTC-5: a local day starts at 05:00 UTC.
    quito = ZoneInfo("America/Guayaquil")
    assert local_days_utc(quito, dt.date(2026, 11, 27), dt.date(2026, 11, 27)) == (
        T(2026, 11, 27, 5),
        T(2026, 11, 28, 5),
    )
    # New York leaves daylight saving on 1 Nov 2026: that local day lasts 25 hours (04:00 to 05:00 UTC).
    ny = ZoneInfo("America/New_York")
    assert local_days_utc(ny, dt.date(2026, 11, 1), dt.date(2026, 11, 1)) == (
        T(2026, 11, 1, 4),
        T(2026, 11, 2, 5),
    )
    assert local_days_utc(ny, dt.date(2026, 10, 30), dt.date(2026, 11, 1)) == (
        T(2026, 10, 30, 4),
        T(2026, 11, 2, 5),
    )


@pytest.fixture
def con(example_config):
    c = duckdb.connect()
    c.execute("create schema marts")
    c.execute(
        "create table marts.fct_sla_events (arrived_at timestamp, first_response_at timestamp, status varchar, "
        "business_minutes_to_respond double, is_breached boolean, sla_breach_at timestamp)"
    )
    rows = [
        # local 26 Nov (UTC-5): three items, two answered (10 and 30 min), one met, one breached
        (T(2026, 11, 26, 14), T(2026, 11, 26, 14, 10), "met", 10.0, False, None),
        (T(2026, 11, 26, 15), T(2026, 11, 26, 17), "breached", 30.0, True, T(2026, 11, 26, 15, 30)),
        (T(2026, 11, 27, 4, 59), None, "pending", None, False, None),  # 23:59 local on the 26th
        # local 27 Nov: one item answered in 50 min, met; it breached nothing
        (T(2026, 11, 27, 5), T(2026, 11, 27, 6), "met", 50.0, False, None),
        # arrived on the 20th, breached on the 27th (local 09:00): counted as missed on the 27th
        (T(2026, 11, 20, 12), None, "breached", None, True, T(2026, 11, 27, 14)),
    ]
    c.executemany("insert into marts.fct_sla_events values (?, ?, ?, ?, ?, ?)", rows)
    yield c
    c.close()


def test_numbers_per_local_day_and_together(con, example_config):
    days = response_numbers_by_local_day(con, example_config, T(2026, 11, 26, 5), T(2026, 11, 28, 5))
    assert days == {
        dt.date(2026, 11, 26): ResponseNumbers(
            items=3, answered=2, met=1, decided=2, median_business_minutes=20.0
        ),
        dt.date(2026, 11, 27): ResponseNumbers(
            items=1, answered=1, met=1, decided=1, median_business_minutes=50.0
        ),
    }
    # Both days together: the median of 10, 30 and 50, not a combination of the two days' medians.
    assert response_numbers(con, T(2026, 11, 26, 5), T(2026, 11, 28, 5)) == ResponseNumbers(4, 3, 2, 3, 30.0)
    assert response_numbers(con, T(2026, 12, 1), T(2026, 12, 2)) == ResponseNumbers(0, 0, 0, 0, None)


def test_missed_slas_count_by_when_they_breached(con):
    assert breached_between(con, T(2026, 11, 26, 5), T(2026, 11, 27, 5)) == 1
    assert breached_between(con, T(2026, 11, 27, 5), T(2026, 11, 28, 5)) == 1
