"""The comparison the PostgreSQL mart test relies on finds what differs, and only that."""

from __future__ import annotations

import datetime as dt
import decimal

from tests.postgres.mart_compare import FLOAT_TOLERANCE, differences

COLUMNS = [("key", "VARCHAR"), ("n", "BIGINT"), ("share", "DOUBLE"), ("at", "TIMESTAMP"), ("ok", "BOOLEAN")]
T = dt.datetime(2025, 3, 20, 14)
ROWS = [
    ("a", 3, 0.25, T, True),
    ("b", 0, None, None, False),
    ("c", 7, 1 / 3, T, None),
]


def test_same_rows_in_another_order_are_identical():
    assert differences(COLUMNS, ROWS, list(reversed(ROWS))) == []


def test_postgres_numeric_and_last_bits_are_within_the_tolerance():
    # PostgreSQL gives numeric for a division of sums: Decimal('0.33333333333333333333')
    pg = [
        ("a", 3, decimal.Decimal("0.25"), T, True),
        ("b", 0, None, None, False),
        ("c", 7, decimal.Decimal("0.33333333333333333333"), T, None),
    ]
    assert differences(COLUMNS, ROWS, pg) == []
    assert FLOAT_TOLERANCE == 1e-9  # the tolerance the module docstring states
    within = [("c", 7, 1 / 3 + 1e-12, T, None), ROWS[0], ROWS[1]]
    assert differences(COLUMNS, ROWS, within) == []


def test_a_value_beyond_the_tolerance_is_a_difference():
    off = [ROWS[0], ROWS[1], ("c", 7, 1 / 3 + 1e-6, T, None)]
    found = differences(COLUMNS, ROWS, off)
    assert len(found) == 1 and "share" in found[0] and "sorted row 2" in found[0]


def test_counts_text_times_nulls_and_booleans_compare_exactly():
    for changed in (
        ("c", 8, 1 / 3, T, None),  # a count
        ("C", 7, 1 / 3, T, None),  # text, case included
        ("c", 7, 1 / 3, T + dt.timedelta(microseconds=1), None),  # a time
        ("c", 7, 1 / 3, T, False),  # null against false
        ("c", 7, None, T, None),  # null against a number
    ):
        assert differences(COLUMNS, ROWS, [ROWS[0], ROWS[1], changed]) != [], changed
    # 1 and True, 0 and False are not the same value in a mart
    assert differences([("x", "BOOLEAN")], [(True,)], [(1,)]) == [
        "sorted row 0: (duckdb, postgres) {'x': (True, 1)}"
    ]


def test_missing_or_extra_rows_are_counted():
    assert differences(COLUMNS, ROWS, ROWS[:2]) == ["3 rows on DuckDB, 2 on PostgreSQL"]
    assert differences(COLUMNS, ROWS, [*ROWS, ROWS[0]]) == ["3 rows on DuckDB, 4 on PostgreSQL"]
