"""Business-minute arithmetic, hand-computed (Mon-Fri 09:00-18:00 unless said otherwise)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from tertulia.business_calendar import (
    build_calendar,
    business_deadline,
    business_minutes,
    calendar_minutes,
    write_business_intervals,
)
from tertulia.config import BusinessHours, parse_config

T = dt.datetime
MADRID = "Europe/Madrid"


@pytest.fixture
def madrid():
    # 2026: Fri 20 Nov, Mon 23 Nov; 8 Dec (Inmaculada) and 25 Dec are national holidays in Spain.
    hours = BusinessHours(holidays_country="ES", extra_holidays=[dt.date(2026, 11, 25)])
    return build_calendar(hours, MADRID, dt.date(2026, 3, 1), dt.date(2026, 12, 31))


def test_friday_evening_to_monday_morning_is_25_business_and_3805_calendar_minutes(madrid):
    # Fri 17:50 CET = 16:50 UTC; Mon 09:15 CET = 08:15 UTC
    start, end = T(2026, 11, 20, 16, 50), T(2026, 11, 23, 8, 15)
    assert business_minutes(start, end, madrid) == 25
    assert calendar_minutes(start, end) == 3805


def test_whole_weekend_has_no_business_minutes(madrid):
    assert business_minutes(T(2026, 11, 21, 8, 0), T(2026, 11, 23, 8, 0), madrid) == 0


def test_overnight_counts_evening_and_morning(madrid):
    # Mon 17:00 CET -> Tue 09:30 CET: 60 + 30
    assert business_minutes(T(2026, 11, 23, 16, 0), T(2026, 11, 24, 8, 30), madrid) == 90


def test_extra_holiday_and_public_holiday_are_closed(madrid):
    # Tue 24 Nov 17:30 -> Thu 26 Nov 09:30 CET with Wed 25 an extra holiday: 30 + 30
    assert business_minutes(T(2026, 11, 24, 16, 30), T(2026, 11, 26, 8, 30), madrid) == 60
    # Mon 7 Dec 17:00 -> Wed 9 Dec 10:00 CET with Tue 8 Dec (Inmaculada Concepcion) closed: 60 + 60
    assert business_minutes(T(2026, 12, 7, 16, 0), T(2026, 12, 9, 9, 0), madrid) == 120


def test_arrival_outside_hours_counts_from_opening(madrid):
    # Saturday 11:00 -> Monday 09:20 CET
    assert business_minutes(T(2026, 11, 21, 10, 0), T(2026, 11, 23, 8, 20), madrid) == 20
    # Deadline of 480 business minutes from Saturday: Monday 17:00 CET = 16:00 UTC
    assert business_deadline(T(2026, 11, 21, 10, 0), 480, madrid) == T(2026, 11, 23, 16, 0)


def test_dst_spring_forward_in_madrid(madrid):
    # Clocks go 02:00 -> 03:00 on Sun 29 Mar 2026. Friday 09:00 CET is 08:00 UTC, Monday 09:00 CEST 07:00 UTC.
    fri = [iv for iv in madrid.intervals if iv.local_date == dt.date(2026, 3, 27)][0]
    mon = [iv for iv in madrid.intervals if iv.local_date == dt.date(2026, 3, 30)][0]
    assert (fri.open_at, fri.close_at) == (T(2026, 3, 27, 8, 0), T(2026, 3, 27, 17, 0))
    assert (mon.open_at, mon.close_at) == (T(2026, 3, 30, 7, 0), T(2026, 3, 30, 16, 0))
    # Fri 17:50 CET -> Mon 09:15 CEST: still 25 business minutes, one calendar hour fewer
    start, end = T(2026, 3, 27, 16, 50), T(2026, 3, 30, 7, 15)
    assert business_minutes(start, end, madrid) == 25
    assert calendar_minutes(start, end) == 3805 - 60


def test_dst_fall_back_in_madrid(madrid):
    # Clocks go 03:00 -> 02:00 on Sun 25 Oct 2026: Fri 23 Oct opens 07:00 UTC, Mon 26 Oct 08:00 UTC.
    start, end = T(2026, 10, 23, 15, 50), T(2026, 10, 26, 8, 15)  # Fri 17:50 CEST -> Mon 09:15 CET
    assert business_minutes(start, end, madrid) == 25
    assert calendar_minutes(start, end) == 3805 + 60
    assert business_deadline(start, 30, madrid) == T(2026, 10, 26, 8, 20)


def test_reply_before_item_is_zero(madrid):
    start, end = T(2026, 11, 23, 10, 0), T(2026, 11, 23, 9, 58)
    assert business_minutes(start, end, madrid) == 0
    assert calendar_minutes(start, end) == 0


def test_deadline_on_closing_time_is_closing_time(madrid):
    # Mon 10:00 CET + 480 business minutes = 18:00 CET exactly (closing time), not Tue 09:00
    assert business_deadline(T(2026, 11, 23, 9, 0), 480, madrid) == T(2026, 11, 23, 17, 0)
    assert business_deadline(T(2026, 11, 23, 9, 0), 481, madrid) == T(2026, 11, 24, 8, 1)


def test_deadline_and_minutes_agree(madrid):
    start = T(2026, 11, 20, 16, 50)
    for target in (10, 11, 480, 1000, 3000):
        deadline = business_deadline(start, target, madrid)
        assert deadline is not None
        assert business_minutes(start, deadline, madrid) == pytest.approx(target)


def test_split_day_and_24_hour_spans():
    hours = BusinessHours(weekly={"mon": ["09:00-13:00", "15:00-19:00"], "sat": ["00:00-24:00"]})
    cal = build_calendar(hours, "UTC", dt.date(2026, 11, 23), dt.date(2026, 11, 29))
    assert [(iv.open_at, iv.close_at) for iv in cal.intervals] == [
        (T(2026, 11, 23, 9), T(2026, 11, 23, 13)),
        (T(2026, 11, 23, 15), T(2026, 11, 23, 19)),
        (T(2026, 11, 28, 0), T(2026, 11, 29, 0)),
    ]
    assert business_minutes(T(2026, 11, 23, 12), T(2026, 11, 23, 16), cal) == 120


def test_write_business_intervals_covers_data_and_next_year():
    cfg = parse_config({"community": {"name": "x", "timezone": MADRID}})
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute("create table raw.comments (created_at varchar, _loaded_at timestamp)")
    con.execute(
        "insert into raw.comments values ('2026-03-02T10:00:00+01:00', '2026-11-23 10:00'), ('not a date', null)"
    )
    n = write_business_intervals(con, cfg, today=dt.date(2026, 11, 23))
    first, last, rows = con.execute(
        "select min(local_date), max(local_date), count(*) from config.business_intervals"
    ).fetchone()
    assert rows == n
    assert first == dt.date(2026, 2, 23)  # Mon 23 Feb: first weekday within the week before 2 Mar
    assert last >= dt.date(2027, 11, 23)
    types = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_name = 'business_intervals'"
        ).fetchall()
    )
    assert types == {"local_date": "DATE", "open_at": "TIMESTAMP", "close_at": "TIMESTAMP"}


def test_calendar_start_follows_comments_landed_later():
    cfg = parse_config({"community": {"name": "x", "timezone": MADRID}})
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute("create table raw.comments (created_at varchar, _loaded_at timestamp)")
    con.execute("insert into raw.comments values ('2026-03-02T10:00:00Z', '2026-11-23 10:00')")
    write_business_intervals(con, cfg, today=dt.date(2026, 11, 23))
    # a later landing brings an older comment: the calendar reaches back to a week before it
    con.execute("insert into raw.comments values ('2026-01-12T10:00:00Z', '2026-11-23 11:00')")
    write_business_intervals(con, cfg, today=dt.date(2026, 11, 23))
    first = con.execute("select min(local_date) from config.business_intervals").fetchone()[0]
    assert first == dt.date(2026, 1, 5)  # Mon 5 Jan, a week before 12 Jan
    # a newer comment does not move it forward again
    con.execute("insert into raw.comments values ('2026-06-01T10:00:00Z', '2026-11-23 12:00')")
    write_business_intervals(con, cfg, today=dt.date(2026, 11, 23))
    assert con.execute("select min(local_date) from config.business_intervals").fetchone()[0] == first


def test_subdivision_holidays_and_bad_subdivision():
    # Thu 2 Apr 2026 (Maundy Thursday) is a holiday in the Community of Madrid, not nationwide.
    national = build_calendar(
        BusinessHours(holidays_country="ES"), MADRID, dt.date(2026, 3, 30), dt.date(2026, 4, 3)
    )
    region = build_calendar(
        BusinessHours(holidays_country="ES", holidays_subdivision="MD"),
        MADRID,
        dt.date(2026, 3, 30),
        dt.date(2026, 4, 3),
    )
    # Good Friday (3 Apr) is national: closed in both
    assert [iv.local_date.day for iv in national.intervals] == [30, 31, 1, 2]
    assert [iv.local_date.day for iv in region.intervals] == [30, 31, 1]
    with pytest.raises(ValueError, match="holidays_subdivision: 'XX'"):
        build_calendar(
            BusinessHours(holidays_country="ES", holidays_subdivision="XX"),
            MADRID,
            dt.date(2026, 5, 1),
            dt.date(2026, 5, 8),
        )


def test_business_policies_without_opening_hours_are_a_config_error():
    cfg = parse_config({"community": {"name": "x"}, "business_hours": {"weekly": {}}})
    with pytest.raises(ValueError, match="no opening hours.*default"):
        write_business_intervals(duckdb.connect(), cfg, today=dt.date(2026, 11, 23))
    all_day = parse_config(
        {
            "community": {"name": "x"},
            "business_hours": {"weekly": {}},
            "sla": {"policies": [{"name": "x", "target_minutes": 60, "business_time": False}]},
        }
    )
    assert write_business_intervals(duckdb.connect(), all_day, today=dt.date(2026, 11, 23)) == 0
