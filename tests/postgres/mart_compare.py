"""Compare a table built by dbt on DuckDB with the same table built on PostgreSQL, row for row.

Both sides are read whole and sorted on every column; then row i of one must equal row i of the other.
Values compare exactly, except numbers of which either side is fractional (DuckDB DOUBLE, PostgreSQL
double precision or numeric): those must agree within FLOAT_TOLERANCE, relative (absolute below 1). A
sum or mean of the same values taken in another order, or a numeric division on PostgreSQL where
DuckDB divides doubles, differs in the last bits (around 1e-16 relative); nothing more is allowed.
Booleans are not numbers here: true and 1 differ.
"""

from __future__ import annotations

import decimal
import math

# |a - b| <= FLOAT_TOLERANCE * max(1, |a|, |b|)
FLOAT_TOLERANCE = 1e-9
# Sorting key precision for fractional numbers: coarser than the tolerance, so two values that agree
# within it sort the same way on both sides.
SORT_DECIMALS = 6


def _normalise(value):
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _sort_key(row: tuple) -> tuple:
    key = []
    for v in row:
        if v is None:
            key.append((0, 0, ""))
        elif isinstance(v, float):
            key.append((1, round(v, SORT_DECIMALS) if math.isfinite(v) else v, ""))
        elif isinstance(v, bool | int):
            key.append((1, float(v), ""))
        else:
            key.append((2, 0, str(v)))
    return tuple(key)


def _equal(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return False
        if not (isinstance(a, int | float) and isinstance(b, int | float)):
            return False
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= FLOAT_TOLERANCE * max(1.0, abs(a), abs(b))
    return a == b


def sorted_rows(rows) -> list[tuple]:
    return sorted((tuple(_normalise(v) for v in r) for r in rows), key=_sort_key)


def differences(columns: list[tuple[str, str]], duck_rows, pg_rows, limit: int = 3) -> list[str]:
    """What differs between the two row sets, at most `limit` rows described; empty when identical.
    `columns` are (name, DuckDB type) in the rows' order."""
    a, b = sorted_rows(duck_rows), sorted_rows(pg_rows)
    if len(a) != len(b):
        return [f"{len(a)} rows on DuckDB, {len(b)} on PostgreSQL"]
    names = [c for c, _ in columns]
    out = []
    for i, (ra, rb) in enumerate(zip(a, b, strict=True)):
        cols = [c for c, va, vb in zip(names, ra, rb, strict=True) if not _equal(va, vb)]
        if cols:
            shown = {c: (ra[names.index(c)], rb[names.index(c)]) for c in cols}
            out.append(f"sorted row {i}: (duckdb, postgres) {shown}")
            if len(out) >= limit:
                break
    return out
