"""Read the frames the gates validate, with DuckDB (GX's SQL data source does not work on DuckDB).

Raw frames hold only the rows landed since the last check (`_loaded_at` after the watermark kept in
`tertulia.dq_watermarks`), so a run costs what its new data costs. Typed columns are parsed here the
way dbt staging parses them (`parse_ts`: an offset is exact, no offset means the community's
timezone), and the text that does not parse is kept beside them in `<column>__unparsed`.

Every frame is capped at `quality.max_rows_per_suite` rows: above that, a repeatable sample.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from quality.suites import GIVEN, UNPARSED, Check
from tertulia.contract import DATE, INTEGER, TIMESTAMP, Entity
from tertulia.warehouse import is_postgres

# Mirrors dbt_project/macros/timestamps.sql (parse_ts), with the timezone bound as $tz.
_OFFSET = r"[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)$"


# On PostgreSQL: the safe casts `tertulia build` installs (dbt_project/macros/portable.sql,
# create_portable_functions, in the dbt target's schema `tertulia`, profiles.yml), which postgres__parse_ts
# calls; the gates run after the build.
_PG_TRY = "tertulia.tertulia_try_timestamp"
_PG_TRY_TZ = "tertulia.tertulia_try_timestamptz"


def _parse_ts(col: str, pg: bool = False) -> str:
    t = f'trim("{col}")'
    if pg:
        return (
            f"case when nullif({t}, '') is null then null "
            f"when {t} ~ '{_OFFSET}' "
            f"then cast(timezone('UTC', {_PG_TRY_TZ}({t})) as timestamp) "
            f"else cast(timezone('UTC', timezone(cast($tz as text), {_PG_TRY}({t}))) as timestamp) end"
        )
    return (
        f"case when nullif({t}, '') is null then null "
        f"when regexp_matches({t}, '{_OFFSET}') "
        f"then cast(timezone('UTC', try_cast({t} as timestamptz)) as timestamp) "
        f"else cast(timezone('UTC', timezone($tz, try_cast({t} as timestamp))) as timestamp) end"
    )


def _typed(col: str, kind: str, pg: bool = False) -> tuple[str, str]:
    """(parsed expression, expression of the text that did not parse)."""
    given = f"nullif(trim(\"{col}\"), '')"
    if pg and kind == INTEGER:
        # no try_cast: up to 18 digits always fit a bigint (counters stop at 12, tertulia.contract)
        parsed = (
            f"case when trim(\"{col}\") ~ '^[+-]?[0-9]{{1,18}}(\\.0*)?$' "
            f"then cast(regexp_replace(trim(\"{col}\"), '\\.0*$', '') as bigint) end"
        )
    elif pg and kind == TIMESTAMP:
        parsed = _parse_ts(col, pg=True)
    elif pg:  # DATE: a date only, as DuckDB's cast to date takes it
        parsed = f"case when {given} ~ '^\\d{{4}}-\\d{{2}}-\\d{{2}}$' then cast(cast({_PG_TRY}({given}) as date) as timestamp) end"
    elif kind == INTEGER:
        # Same rule as the importer: "12" and "12.0" are whole numbers, "1.5" and "1,200" are not.
        parsed = (
            f"case when regexp_full_match(trim(\"{col}\"), '[+-]?[0-9]+(\\.0*)?') "
            f"then try_cast(regexp_replace(trim(\"{col}\"), '\\.0*$', '') as bigint) end"
        )
    elif kind == TIMESTAMP:
        parsed = _parse_ts(col)
    else:  # DATE
        parsed = f"cast(try_cast({given} as date) as timestamp)"
    return parsed, f'case when {given} is not null and ({parsed}) is null then "{col}" end'


@dataclass
class Frame:
    df: pd.DataFrame
    rows_total: int  # rows that qualified (new rows for raw, all rows for a mart)
    sampled: bool
    through: dt.datetime | None = None  # raw: the newest _loaded_at read (next watermark)


def table_columns(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, dict[str, str]]:
    """{table: {column: data type}} of one schema."""
    rows = con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = ? order by table_name, ordinal_position",
        [schema],
    ).fetchall()
    out: dict[str, dict[str, str]] = {}
    for table, column, dtype in rows:
        out.setdefault(table, {})[column] = dtype
    return out


def _read(
    con: duckdb.DuckDBPyConnection, select: str, source: str, where: str, params: dict, max_rows: int
) -> tuple[pd.DataFrame, int, bool]:
    n = con.execute(f"select count(*) from {source} {where}", params).fetchone()[0]  # noqa: S608 - names from the contract/information_schema
    sample = _sample(con, max_rows) if n > max_rows else ""
    df = con.execute(f"select {select} from (select * from {source} {where}) as s {sample}", params).df()  # noqa: S608
    return df, int(n), bool(sample)


def _sample(con, max_rows: int) -> str:
    """The clause that keeps a repeatable sample of `max_rows` rows of the subquery before it."""
    if is_postgres(con):
        con.execute("select setseed(0.7)")  # random() repeats from here, in this session
        return f"order by random() limit {int(max_rows)}"
    return f"using sample reservoir({int(max_rows)} rows) repeatable (7)"


def read_raw_new_rows(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    present: set[str],
    *,
    since: dt.datetime | None,
    tz: str,
    max_rows: int,
) -> Frame:
    exprs: list[str] = []
    pg = is_postgres(con)
    for c in entity.columns:
        if c.name not in present:
            continue
        if c.kind in (INTEGER, TIMESTAMP, DATE):
            parsed, unparsed = _typed(c.name, c.kind, pg)
            exprs += [f'{parsed} as "{c.name}"', f'{unparsed} as "{c.name}{UNPARSED}"']
            if not c.nullable:
                exprs.append(f'nullif(trim("{c.name}"), \'\') as "{c.name}{GIVEN}"')
        elif not c.nullable:
            # An empty key is as missing as a null one.
            exprs.append(f'nullif(trim("{c.name}"), \'\') as "{c.name}"')
        else:
            exprs.append(f'"{c.name}"')
    exprs.append("_loaded_at")
    params: dict = {"tz": tz}
    where = ""
    if since is not None:
        where = "where _loaded_at > $since"
        params["since"] = since
    source = f"raw.{entity.name}"
    # $tz is only referenced by timestamp columns; DuckDB rejects unused named parameters.
    select = ", ".join(exprs)
    if "$tz" not in select:
        params.pop("tz")
    count_params = {k: v for k, v in params.items() if k == "since"}
    n = con.execute(f"select count(*) from {source} {where}", count_params).fetchone()[0]  # noqa: S608
    sample = _sample(con, max_rows) if n > max_rows else ""
    df = con.execute(f"select {select} from (select * from {source} {where}) as s {sample}", params).df()  # noqa: S608
    through = None
    if len(df):
        through = con.execute(f"select max(_loaded_at) from {source} {where}", count_params).fetchone()[0]  # noqa: S608
    return Frame(df.drop(columns=["_loaded_at"]), int(n), bool(sample), through)


def read_mart(
    con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], checks: list[Check], max_rows: int
) -> Frame:
    """Only the columns the checks read; dates as timestamps so one comparison fits both."""
    needed: list[str] = []
    for check in checks:
        for col in (*check.needs, *([check.column] if check.expectation == "ExpectColumnToExist" else [])):
            if col and col in columns and col not in needed:
                needed.append(col)
    exprs = []
    for col in needed:
        if columns[col].upper() == "DATE":
            exprs.append(f'cast("{col}" as timestamp) as "{col}"')
        elif columns[col].upper().startswith("TIMESTAMP WITH TIME ZONE"):
            exprs.append(f'cast(timezone(\'UTC\', "{col}") as timestamp) as "{col}"')
        elif columns[col].upper().startswith(("DECIMAL", "DOUBLE", "FLOAT", "REAL", "NUMERIC")):
            # Six decimals: float noise (4.9500000000116 business vs 4.95 calendar minutes) is not a finding.
            # PostgreSQL rounds to n places a numeric only (its float comes back as a Python float).
            as_type = "numeric" if is_postgres(con) else "double"
            exprs.append(f'round(cast("{col}" as {as_type}), 6) as "{col}"')
        else:
            exprs.append(f'"{col}"')
    df, n, sampled = _read(con, ", ".join(exprs) or "1 as _none", f'marts."{table}"', "", {}, max_rows)
    if not needed:
        df = df.iloc[:, 0:0]
    return Frame(df, n, sampled)
