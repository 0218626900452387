"""Landing: merge a batch of contract-shaped rows into `raw.<entity>`, holding bad rows in quarantine.

Every connector (file bundles, live APIs) ends here. The batch is checked row by row in SQL, never in a
Python loop, so a bundle of millions of comments lands at the speed of DuckDB's readers:

- a row that breaks a rule (empty required value, a timestamp that is not strict ISO 8601 or lies
  outside the plausible range, unknown platform, a counter that is negative, ambiguous (`1.000`) or
  beyond BIGINT, NUL byte, text over TEXT_LIMIT_BYTES, a counter lower than the previous capture, a
  second copy of a key in the same batch) goes to `tertulia.quarantine` with the source, line, the
  whole record as JSON, the rule and a reason saying what to do. The rules are the landing contract:
  every value that lands is one the staging models cast without error;
- key and id values are trimmed of surrounding whitespace (an id with a stray space is the same id);
- the other rows merge into raw by the contract key: new keys are inserted, an existing key is
  replaced when the version column is newer (or, without a version, when any value changed), and an
  identical row is left alone, so a rerun adds nothing;
- an open quarantine row is released (released_at set) when its key later lands fine, or, for file
  sources, when the same file is imported again without that bad line.

All of it runs in one transaction: a crash or an error leaves raw and quarantine as they were.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from tertulia.config import Quality
from tertulia.contract import DATE, ENTITIES, INTEGER, MAX_COUNTER, TEXT, TIMESTAMP, Entity
from tertulia.schema import ensure_state

# Text longer than this (UTF-8 bytes) is quarantined whole rather than truncated: truncating would lose
# the end of the text, and no platform allows a comment this long, so it is almost always a broken export.
TEXT_LIMIT_BYTES = 65536
# The plausible range of a timestamp has one home, `quality` in community.yml (the gates check marts
# with the same tolerance); these are its defaults for callers without a config (API connectors).
DEFAULT_EARLIEST: dt.date = Quality.model_fields["earliest_timestamp"].default
DEFAULT_FUTURE_TOLERANCE = dt.timedelta(minutes=Quality.model_fields["future_tolerance_minutes"].default)
# Number formats a bundle may declare (`numbers:` in its _bundle.yml): which separator groups thousands.
NUMBER_FORMATS = {"es": ".", "en": ","}
# Shapes, as RE2 patterns matched against the whole value. The strict timestamp shape is what makes
# landing and staging's `parse_ts` read a value alike: DuckDB's cast alone also takes `T24:00`, an
# offset of +25:00, a trailing zone name (which parse_ts would then ignore) and a date alone.
TS_SHAPE = (
    " *[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]+)?)?"
    " *(Z|z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)? *"
)
DATE_SHAPE = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
# A counter that is surely a BIGINT: the one test the usual value goes through.
# Plain digits that cannot pass MAX_COUNTER (all nines): the usual counter, checked by no other rule.
_PLAIN_COUNTER = f"[0-9]{{1,{len(str(MAX_COUNTER))}}}"
_WHOLE = " *[+-]?[0-9]+(\\.0+)? *"
# `1.000` or `10,000`: a thousands separator or a decimal point? Only a declared format can say.
_GROUPED = " *[+-]?[0-9]{1,3}([.,][0-9]{3})+ *"
# Surrounding whitespace trimmed from keys and ids: space, tab, line breaks, no-break space.
_ID_SPACE = " \t\n\r\u00a0"
# Entities whose integer columns are lifetime counters: a capture lower than the previous one is
# quarantined (rule counter_decreased) so marts never show negative daily deltas by surprise.
LIFETIME_COUNTERS = {"post_metrics": ("platform", "post_id", "captured_at")}
MESSAGE_LIMIT = 20  # bad rows described one by one in LandResult.messages; the rest are counted
# Rules a reader can decide for a whole file more cheaply than per value (land_relation's `proven`):
# no value holds a NUL when no line of a JSON-lines file does (a raw NUL is not valid JSON; the
# escape \u0000 is the only way to write one, and a line without that text holds none).
PROVABLE_BY_READER = frozenset({"nul_byte"})


def raw_lookup_columns(entity: Entity) -> tuple[str, ...]:
    """The columns by which landing a batch reads raw.<entity>: the rows sharing them with a batch row
    are all it compares with (the merge by key and version; for lifetime counters every capture of the
    series). A PostgreSQL import copies those rows alone into its scratch DuckDB (tertulia.pipeline)."""
    series = LIFETIME_COUNTERS.get(entity.name)
    return series[:-1] if series else entity.key


# What to do, per rule, appended to the reason so the message is actionable.
ADVICE = {
    "malformed_record": "fix that line in the file and import it again",
    "nul_byte": "the export is corrupted there; export it again or remove the NUL bytes, then import again",
    "missing_value": "fill in the value and import again",
    "unknown_value": "use one of the allowed values and import again",
    "not_an_integer": "write a whole number (no thousands separators) and import again",
    "ambiguous_number": "write the number without separators, or declare the bundle's number format "
    "(numbers: es or en in _bundle.yml), and import again",
    "counter_out_of_range": f"no real counter passes {MAX_COUNTER:,} (the largest are in the tens of billions): "
    "it is a placeholder or a corrupted value; correct it and import again",
    "timestamp_out_of_range": "check the date (a default such as 1970-01-01 or 0001-01-01 is a missing value) "
    "and import again; quality.earliest_timestamp sets the earliest date accepted",
    "negative_counter": "counters cannot be negative; correct the value and import again",
    "bad_timestamp": "write an ISO 8601 timestamp such as 2026-03-01T14:05:00-05:00 and import again",
    "bad_date": "write an ISO 8601 date such as 2026-03-01 and import again",
    "future_timestamp": "check the clock/timezone of the export and import again",
    "text_too_long": "the full record is kept in quarantine; shorten the text or fix the export and import again",
    "duplicate_in_batch": "nothing to do unless the kept copy is the wrong one",
    "counter_decreased": "check the capture; if the platform really lowered it, re-export with the corrected series",
}


@dataclass
class LandResult:
    entity: str
    rows_in: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    messages: list[str] = field(default_factory=list)
    released: int = 0

    @property
    def landed(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def summary(self) -> str:
        return (
            f"{self.entity}: {self.rows_in} read, {self.inserted} new, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.quarantined} quarantined"
            + (f", {self.released} released from quarantine" if self.released else "")
        )


def new_batch_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def ensure_quarantine(con: duckdb.DuckDBPyConnection) -> None:
    ensure_state(con, "quarantine")


def _q(name: str) -> str:
    """Quote an identifier; names come from the contract, never from member data."""
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    """A SQL string literal for constant text written in this module (never member data)."""
    return "'" + text.replace("'", "''") + "'"


def _instant(expr: str) -> str:
    """SQL for the instant of a raw timestamp text: exact with an offset, else wall-clock time in the
    community's timezone, because land_relation sets the session TimeZone to it (one cast, no regex).

    The cast already skips ASCII spaces; trim (which copies the text, and costs three times the cast)
    only runs for the rare value that does not parse as it is."""
    return f"coalesce(try_cast({expr} as timestamptz), try_cast(trim({expr}) as timestamptz))"


def _blank(expr: str) -> str:
    """SQL: the value is NULL or only spaces (what `trim(x) = ''` says), without trimming every value:
    a value is blank only if it is empty or starts with a character trim removes (a space, or a
    non-ASCII space such as NBSP), so the copy trim makes is paid by those few values alone."""
    return (
        f"(case when {expr} is null then true when {expr} = '' or ord({expr}) = 32 or ord({expr}) > 127 "
        f"then trim({expr}) = '' else false end)"
    )


def _shown(expr: str) -> str:
    """A value quoted for a message, cut short so a 100k comment does not flood the reason."""
    return f"coalesce('''' || left({expr}, 60) || case when length({expr}) > 60 then '…' else '' end || '''', 'empty')"


def _ts_col(name: str) -> str:
    """Name of the column land_relation adds with the parsed instant of timestamp column `name`."""
    return _q("_ts_" + name)


def _rule_cases(
    entity: Entity,
    *,
    parsed: bool = False,
    numbers: str | None = None,
    tolerance: dt.timedelta = DEFAULT_FUTURE_TOLERANCE,
    proven: frozenset[str] = frozenset(),
) -> list[tuple[str, str, str]]:
    """(rule, SQL condition, SQL reason) in the order they are tried; the first failing rule is reported.

    `parsed`: the rows carry each timestamp column's instant in `_ts_<name>` (parsed once, not once
    per rule) and `_counters_plain`, whether every counter is plain digits (the usual row then skips
    the counter rules: a CASE evaluates each condition anew, so four rules meant four regexes). `numbers`: the bundle's declared number format (its integers were normalised already),
    or None, when `1.000` is ambiguous. `$earliest` and `$future_limit` are replaced by the caller.
    `proven`: rules of PROVABLE_BY_READER the caller has shown no row breaks; their tests are left out."""
    cases: list[tuple[str, str, str]] = []
    for c in entity.columns if "nul_byte" not in proven else ():
        col = _q(c.name)
        cases.append(("nul_byte", f"contains({col}, chr(0))", _lit(f"{c.name} contains a NUL byte")))
    for c in entity.columns:
        if not c.nullable:
            col = _q(c.name)
            cases.append(("missing_value", _blank(col), _lit(f"{c.name} is empty (required)")))
    for name, allowed in entity.allowed.items():
        col = _q(name)
        values = ", ".join(_lit(v) for v in allowed)
        cases.append(
            (
                "unknown_value",
                # list_position, not `not in (...)` nor list_contains, which DuckDB's optimizer turns
                # into a join against the list: it costs more and loses the rows' order, by which the
                # straight write numbers the lines (_keeps_row_order checks the plan).
                f"{col} is not null and list_position([{values}], {col}) is null",
                f"{_lit(f'unknown {name} ')} || {_shown(col)} || {_lit('; expected one of ' + ', '.join(allowed))}",
            )
        )

    def guard(cond: str) -> str:
        # A CASE, not an AND: DuckDB evaluates both sides of an AND on every row, a CASE only the rows
        # that reach the branch, here the rare row with a counter that is not plain digits.
        return f"(case when _counters_plain then false else {cond} end)" if parsed else cond

    hours = tolerance.total_seconds() / 3600
    ahead = f"{hours:g} hours" if hours != 1 else "1 hour"
    for c in entity.columns:
        col = _q(c.name)
        present = f"not {_blank(col)}"
        if c.kind == INTEGER:
            # The usual counter passes the first test and no other is tried for it.
            unusual = (
                f"{col} is not null and not regexp_full_match({col}, {_lit(_PLAIN_COUNTER)}) and {present}"
            )
            if numbers is None:
                cases.append(
                    (
                        "ambiguous_number",
                        guard(f"{unusual} and regexp_full_match({col}, {_lit(_GROUPED)})"),
                        f"{_lit(c.name + ' ')} || {_shown(col)} || ' is ambiguous: a thousands separator (' || "
                        f"regexp_replace(trim({col}), '[.,]', '', 'g') || ') or a decimal point? The bundle declares "
                        "no number format'",
                    )
                )
            cases.append(
                (
                    "not_an_integer",
                    guard(f"{unusual} and not regexp_full_match({col}, {_lit(_WHOLE)})"),
                    f"{_lit(c.name + ' ')} || {_shown(col)} || ' is not a whole number'",
                )
            )
            cases.append(
                (
                    "negative_counter",
                    guard(f"{unusual} and try_cast(trim({col}) as double) < 0"),
                    f"{_lit(c.name + ' ')} || {_shown(col)} || ' is negative'",
                )
            )
            # The very cast staging makes (what passes here, staging reads), and at most MAX_COUNTER so
            # that the marts' sums of counters stay within 64 bits.
            cases.append(
                (
                    "counter_out_of_range",
                    guard(f"{unusual} and coalesce(try_cast({col} as bigint) > {MAX_COUNTER}, true)"),
                    f"{_lit(c.name + ' ')} || {_shown(col)} || ' is more than {MAX_COUNTER:,}'",
                )
            )
        elif c.kind == TIMESTAMP:
            instant = _ts_col(c.name) if parsed else _instant(col)
            cases.append(
                (
                    "bad_timestamp",
                    f"{present} and ({instant} is null or not regexp_full_match({col}, {_lit(TS_SHAPE)}))",
                    f"{_lit(c.name + ' ')} || {_shown(col)} || ' is not an ISO 8601 timestamp' || "
                    f"case when regexp_full_match({col}, {_lit(' *' + DATE_SHAPE + ' *')}) "
                    "then ' (a date alone; write the time too)' "
                    "else ' (date, time 00:00-23:59, then Z or an offset up to ±14:00 or nothing; no zone names)' end",
                )
            )
            cases.append(
                (
                    "timestamp_out_of_range",
                    f"{present} and {instant} < $earliest",
                    f"{_lit(c.name + ' ')} || {_shown(col)} || ' is before ' || $earliest_text || "
                    "', the earliest plausible date'",
                )
            )
            if not c.future_allowed:
                cases.append(
                    (
                        "future_timestamp",
                        f"{present} and {instant} > $future_limit",
                        f"{_lit(c.name + ' ')} || {_shown(col)} || {_lit(f' is more than {ahead} in the future')}",
                    )
                )
        elif c.kind == DATE:
            cases.append(
                (
                    "bad_date",
                    f"{present} and (not regexp_full_match({col}, {_lit(DATE_SHAPE)}) "
                    f"or try_cast({col} as date) is null)",
                    f"{_lit(c.name + ' ')} || {_shown(col)} || ' is not an ISO 8601 date' || "
                    f"case when regexp_matches({col}, '^{DATE_SHAPE}[T ]') then "
                    f"' (it holds a time: write the day alone, ' || left({col}, 10) || ')' else '' end",
                )
            )
            cases.append(
                (
                    "timestamp_out_of_range",
                    f"{present} and try_cast({col} as date) < cast($earliest_text as date)",
                    f"{_lit(c.name + ' ')} || {_shown(col)} || ' is before ' || $earliest_text || "
                    "', the earliest plausible date'",
                )
            )
            cases.append(
                (
                    "future_timestamp",
                    f"{present} and try_cast({col} as date) > cast($future_limit as date)",
                    f"{_lit(c.name + ' ')} || {_shown(col)} || ' is a future date'",
                )
            )
    for c in entity.columns:
        if c.kind == TEXT:
            col = _q(c.name)
            cases.append(
                (
                    "text_too_long",
                    f"strlen({col}) > {TEXT_LIMIT_BYTES}",
                    f"{_lit(c.name + ' is ')} || strlen({col}) || {_lit(f' bytes long (limit {TEXT_LIMIT_BYTES})')}",
                )
            )
    # The extra columns are text too, kept in _extra: the same limit for all of them together.
    cases.append(
        (
            "text_too_long",
            f"strlen(cast(_extra as varchar)) > {TEXT_LIMIT_BYTES}",
            "'the extra columns are ' || strlen(cast(_extra as varchar)) || "
            f"{_lit(f' bytes long together (limit {TEXT_LIMIT_BYTES})')}",
        )
    )
    return cases


def _normalised_integer(col: str, numbers: str | None) -> str:
    """SQL for an integer value read in the bundle's declared number format, as plain digits.

    `1.000` with `numbers: es` is 1000 and `1,0` is 1; with `en` the other way round. Without a declared
    format the value is left as delivered (a grouped one is then quarantined as ambiguous)."""
    if numbers is None:
        return col
    group = NUMBER_FORMATS[numbers]
    point = "," if group == "." else "."
    g, pt = "\\" + group, "\\" + point
    shape = _lit(f" *[+-]?([0-9]{{1,3}}({g}[0-9]{{3}})+|[0-9]+)({pt}0+)? *")
    return (
        f"(case when {col} is null or regexp_full_match({col}, {_lit(_PLAIN_COUNTER)}) then {col} "
        f"when regexp_full_match({col}, {shape}) then "
        f"regexp_replace(replace(trim({col}), {_lit(group)}, ''), {_lit(pt + '0+$')}, '') else {col} end)"
    )


def _trimmed_id(col: str) -> str:
    """SQL: an id without surrounding whitespace; only the rare padded value pays for the copy (the
    first and last characters are tested by code point: `right()` or a regex costs twice as much)."""
    first, last = f"ord({col})", f"ord({col}[-1])"
    ends = f"({first} <= 32 or {first} = 160 or {last} <= 32 or {last} = 160)"
    return f"(case when {ends} then trim({col}, {_lit(_ID_SPACE)}) else {col} end)"


def _set_timezone(con: duckdb.DuckDBPyConnection, name: str) -> None:
    ZoneInfo(name)  # raises for an unknown name; SET takes no parameters, so only a real zone name gets here
    con.execute(f"set TimeZone = {_lit(name)}")


def _key_text(entity: Entity, alias: str = "") -> str:
    pre = f"{alias}." if alias else ""
    parts = [f"{_lit(k + '=')} || coalesce({pre}{_q(k)}, '∅')" for k in entity.key]
    return " || ' ' || ".join(parts)


def _key_json(entity: Entity, alias: str = "") -> str:
    pre = f"{alias}." if alias else ""
    cols = [f"{pre}{_q(k)}" for k in entity.key]
    nonnull = " and ".join(f"{c} is not null" for c in cols)
    return f"(case when {nonnull} then to_json([{', '.join(cols)}]) end)"


def _where_name(source: str) -> str:
    """SQL giving 'file line N' for a row; CSV lines are data rows (the header is not counted)."""
    return (
        f"regexp_replace(coalesce({source}, '?'), '^.*/', '') || "
        f"case when regexp_matches(coalesce({source}, ''), '\\.csv(\\.gz)?$') then ' data row ' else ' line ' end"
    )


def land_relation(
    con: duckdb.DuckDBPyConnection,
    entity: str,
    select_sql: str,
    *,
    source: str,
    batch_id: str,
    params: list | None = None,
    timezone: str = "UTC",
    release_fixed_sources: bool = False,
    now: dt.datetime | None = None,
    earliest: dt.date = DEFAULT_EARLIEST,
    future_tolerance: dt.timedelta = DEFAULT_FUTURE_TOLERANCE,
    numbers: str | None = None,
    expected_rows: int | None = None,
    unnumbered_sql: str | None = None,
    proven: frozenset[str] = frozenset(),
) -> LandResult:
    """Check and merge the rows of `select_sql` into raw.<entity>; bad rows go to tertulia.quarantine.

    `select_sql` returns the contract's columns as text, `_extra` (JSON or NULL), `_source` and
    `_source_line`; optionally `_reject_rule`/`_reject_reason` (a reader already knows the row is bad,
    e.g. malformed JSON) and `_raw` (the line as read, kept in quarantine when it could not be parsed).
    `timezone` reads timestamps without an offset (for the future check and version order).
    `release_fixed_sources`: the rows are whole files, so an open quarantine row of one of these
    sources that is not bad any more was fixed (the file connector sets it; API connectors must not).
    `earliest` and `future_tolerance` bound a plausible timestamp (`quality` in community.yml);
    `numbers` is the declared number format of the rows (NUMBER_FORMATS) or None.
    `expected_rows`: how many rows `select_sql` returns, when the caller knows it without reading them
    (the file connector's pre-pass counts the lines). Then the rows are first written straight to raw
    (see _land_direct), which is right whenever every row is good, new and once in the batch.
    `unnumbered_sql` (with `expected_rows`): the same rows in the same order, with the same parameters,
    but `_source_line` null; the straight write reads it instead and numbers each source's rows from
    their order in raw (see _number_lines), because numbering while reading (`row_number() over ()`)
    runs the read, the checks and the insert on one thread.
    `proven` (with `expected_rows`): rules of PROVABLE_BY_READER the caller has shown no row of
    `select_sql` breaks (the file connector's pre-pass reads every line once anyway); the straight
    write leaves their per-value tests out. The checked path, which a failed straight write falls
    back to, still tests every rule.
    """
    if set(proven) - PROVABLE_BY_READER:
        raise ValueError(
            f"land_relation: only {', '.join(sorted(PROVABLE_BY_READER))} can be proven by a reader"
        )
    if numbers is not None and numbers not in NUMBER_FORMATS:
        raise ValueError(f"unknown number format {numbers!r}; expected one of {', '.join(NUMBER_FORMATS)}")
    ent = ENTITIES.get(entity)
    if ent is None:
        raise ValueError(f"unknown entity {entity!r}; expected one of {', '.join(ENTITIES)}")
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    ctx = {
        "future_limit": (now + future_tolerance).replace(tzinfo=dt.UTC),
        "earliest": earliest,
        "tolerance": future_tolerance,
        "numbers": numbers,
    }
    cols = ent.column_names
    qcols = [_q(c) for c in cols]
    ensure_quarantine(con)
    previous_tz = con.execute("select current_setting('TimeZone')").fetchone()[0]
    # Timestamps without an offset are wall-clock time in the community's timezone (the bundle contract).
    _set_timezone(con, timezone)
    try:
        # What both paths take, in their order; each adds its own last arguments.
        batch = (con, ent, select_sql, params or [], source, batch_id, ctx, now, qcols)
        result = None
        if expected_rows is not None and ent.name not in LIFETIME_COUNTERS:
            # A caller already inside a transaction gets DuckDB's error here, before anything is written.
            con.execute("begin transaction")
            try:
                result = _land_direct(*batch, expected_rows, unnumbered_sql, release_fixed_sources, proven)
            except BaseException:
                con.execute("rollback")
                raise
            # Not every row was good, new and once in the batch: nothing of it stays; the checked path
            # below reads the rows again.
            con.execute("commit" if result is not None else "rollback")
        if result is None:
            con.execute("begin transaction")
            try:
                result = _land_in_transaction(*batch, release_fixed_sources)
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
    finally:
        for t in ("_land_chk", "_land_cmp"):
            con.execute(f"drop table if exists temp.{t}")
        for v in ("_land_bad", "_land_good"):
            con.execute(f"drop view if exists temp.{v}")
        _set_timezone(con, previous_tz)
    return result


def _land_in_transaction(
    con: duckdb.DuckDBPyConnection,
    ent: Entity,
    select_sql: str,
    params: list,
    source: str,
    batch_id: str,
    ctx: dict[str, Any],
    now: dt.datetime,
    qcols: list[str],
    release_fixed_sources: bool,
) -> LandResult:
    """Land one batch, step by step; the caller holds the transaction (all or nothing)."""
    res = LandResult(ent.name)
    res.rows_in = _check_rows(con, ent, select_sql, params, source, ctx)  # 1. row rules
    _flag_duplicates(con, ent)  # 2. duplicate keys within the batch
    if ent.name in LIFETIME_COUNTERS:  # 3. lifetime counters lower than the previous capture
        _flag_decreasing_counters(con, ent)
    res.quarantined = _split(con)  # 4. good rows and bad rows
    _merge_good(con, ent, res, qcols, batch_id, now)  # 5. the good rows into raw
    _quarantine_bad(con, ent, batch_id, now)  # 6. the bad rows into tertulia.quarantine
    res.released = _release_fixed(con, ent, batch_id, now, release_fixed_sources)  # 7.
    _report_bad(con, ent, res)  # 8. messages naming the file, line and what to do
    return res


def _split(con: duckdb.DuckDBPyConnection) -> int:
    """4. Views of the good rows and the bad rows of `_land_chk`; the number of bad rows."""
    con.execute("create or replace temp view _land_bad as select * from _land_chk where _rule is not null")
    con.execute("create or replace temp view _land_good as select * from _land_chk where _rule is null")
    return con.execute("select count(*) from _land_bad").fetchone()[0]


def _checked_select(
    con: duckdb.DuckDBPyConnection,
    ent: Entity,
    select_sql: str,
    params: list,
    source: str,
    ctx: dict[str, Any],
    *,
    ordered: bool = True,
    proven: frozenset[str] = frozenset(),
):
    """The batch's rows shaped, with the first rule each breaks (`_rule`, null for a good row) and
    their version: the select _land_chk is made of, and what _land_direct inserts from. Also the SQL of
    the reasons (for the bad rows only) and the function that binds the constants.

    `ordered`: number the rows in `_ord` (the checked path ranks duplicates and reports bad rows by
    it); the straight write needs no order column, and numbering would put its read on one thread.
    `proven`: rules left out of `_rule` (see land_relation); the reasons keep every rule."""
    # The caller's select is trusted SQL (connectors build it with bound parameters for every value).
    order = "row_number() over ()" if ordered else "null::bigint"
    source_sql = f"select {order} as _ord, * from (" + select_sql + ")"  # noqa: S608
    present = {r[0] for r in con.execute("describe " + source_sql, params).fetchall()}
    missing = [c for c in [*ent.column_names, "_extra", "_source", "_source_line"] if c not in present]
    if missing:
        raise ValueError(f"land_relation({ent.name}): the select returns no column {', '.join(missing)}")
    opt = {"_reject_rule": "null::varchar", "_reject_reason": "null::varchar", "_raw": "null::varchar"}
    numbers = ctx["numbers"]
    shaped = []
    for c in ent.columns:
        col = _q(c.name)
        if c.name in ent.key or c.name.endswith("_id"):
            col = f"{_trimmed_id(col)} as {col}"
        elif c.kind == INTEGER and numbers is not None:
            col = f"{_normalised_integer(col, numbers)} as {col}"
        shaped.append(col)
    inner = ", ".join(
        # A row without its own source takes the batch's (escaped literal: the positional parameters
        # belong to the caller's select).
        ["_ord", *shaped, "_extra", f"coalesce(_source, {_lit(source)}) as _source", "_source_line"]
        + [k if k in present else f"{v} as {k}" for k, v in opt.items()]
    )

    # 1. Row rules, the first failing one wins. Timestamps are parsed once per row for all rules and
    # the version; reasons are built afterwards for the bad rows only.
    ts_cols = [c.name for c in ent.columns if c.kind == TIMESTAMP]
    parsed_sql = "".join(f", {_instant(_q(c))} as {_ts_col(c)}" for c in ts_cols)
    counters = [c.name for c in ent.columns if c.kind == INTEGER]
    plain = " and ".join(
        f"coalesce(regexp_full_match({_q(c)}, {_lit(_PLAIN_COUNTER)}), true)" for c in counters
    )
    parsed_sql += f", {plain or 'true'} as _counters_plain"
    rules = {"numbers": numbers, "tolerance": ctx["tolerance"]}
    rule_sql = (
        "case when _reject_rule is not null then _reject_rule "
        + " ".join(
            f"when {cond} then {_lit(rule)}"
            for rule, cond, _ in _rule_cases(ent, parsed=True, proven=proven, **rules)
        )
        + " end"
    )
    cases = _rule_cases(ent, **rules)
    reason_sql = (
        "case when _reject_rule is not null then _reject_reason "
        + " ".join(f"when {cond} then {reason}" for _, cond, reason in cases)
        + " end"
    )
    version = ent.version_column
    version_sql = _ts_col(version) if version else "null::timestamptz"
    # One pass over the source: positional parameters of the caller's select, then ours (all constants).
    future_limit = ctx["future_limit"].isoformat()
    earliest = ctx["earliest"].isoformat()

    def bound(sql: str) -> str:
        return (
            sql.replace("$future_limit", f"timestamptz '{future_limit}'")
            .replace("$earliest_text", _lit(earliest))
            .replace("$earliest", f"timestamptz '{earliest} 00:00:00+00'")
        )

    star = "* exclude (" + ", ".join([*(_ts_col(c) for c in ts_cols), "_counters_plain"]) + ")"
    checked = bound(
        f"select {star}, {rule_sql} as _rule, "  # noqa: S608
        f"null::varchar as _reason, {version_sql} as _version "
        f"from (select {inner}{parsed_sql} from ({source_sql}))"
    )
    return checked, reason_sql, bound


def _check_rows(
    con: duckdb.DuckDBPyConnection,
    ent: Entity,
    select_sql: str,
    params: list,
    source: str,
    ctx: dict[str, Any],
) -> int:
    """Steps 0 and 1: the batch shaped into `_land_chk`, each row with the first rule it fails; its rows."""
    checked, reason_sql, bound = _checked_select(con, ent, select_sql, params, source, ctx)
    con.execute(f"create or replace temp table _land_chk as {checked}", params)  # noqa: S608
    rows_in = con.execute("select count(*) from _land_chk").fetchone()[0]
    # Reasons are built for the bad rows only (the same cases in the same order give the same rule).
    con.execute(
        bound(f"update _land_chk set _reason = {reason_sql} where _rule is not null")  # noqa: S608
    )

    return rows_in


def _flag_duplicates(con: duckdb.DuckDBPyConnection, ent: Entity) -> None:
    # 2. Duplicate keys within the batch: keep the newest version, else the last line. Batches rarely
    # hold any, and finding that out with a grouping costs a fraction of the window that ranks them.
    where = _where_name("_source")
    key_cols = ", ".join(_q(k) for k in ent.key)
    has_duplicates = con.execute(
        f"select count(*) from (select 1 from _land_chk where _rule is null "  # noqa: S608 - contract names
        f"group by {key_cols} having count(*) > 1 limit 1)"
    ).fetchone()[0]
    if has_duplicates:
        con.execute(
            f"""
            update _land_chk set _rule = 'duplicate_in_batch',
                _reason = 'duplicate id in batch: ' || {_key_text(ent)} || ' also at ' || d._kept_at || ', which was kept'
            from (
                select _ord as d_ord, _rn, {where.replace("_source", "_kept_source")} || _kept_line as _kept_at from (
                    select _ord, row_number() over w as _rn,
                        first_value(_source) over w as _kept_source, first_value(_source_line) over w as _kept_line
                    from _land_chk where _rule is null
                    window w as (partition by {key_cols} order by _version desc nulls last, _ord desc)
                ) where _rn > 1
            ) d
            where _land_chk._ord = d.d_ord
            """  # noqa: S608 - identifiers from the contract
        )


def _merge_good(
    con: duckdb.DuckDBPyConnection,
    ent: Entity,
    res: LandResult,
    qcols: list[str],
    batch_id: str,
    now: dt.datetime,
) -> None:
    version = ent.version_column
    # 5. Merge the good rows into raw.
    join = " and ".join(f"g.{_q(k)} = r.{_q(k)}" for k in ent.key)
    first_key = _q(ent.key[0])
    changed = " or ".join(f"g.{c} is distinct from r.{c}" for c in qcols) + (
        " or cast(g._extra as varchar) is distinct from cast(r._extra as varchar)"
    )
    if version:
        gv, rv = _instant(f"g.{_q(version)}"), _instant(f"r.{_q(version)}")
        newer = f"({gv} > {rv} or ({rv} is null and {gv} is not null))"
        older = f"({gv} < {rv} or ({gv} is null and {rv} is not null))"
        action = (
            f"case when r.{first_key} is null then 'insert' when {newer} then 'update' when {older} then 'stale' "
            f"when {changed} then 'update' else 'unchanged' end"
        )
    else:
        action = (
            f"case when r.{first_key} is null then 'insert' when {changed} then 'update' else 'unchanged' end"
        )
    # Does any good row's key exist in raw? Reading only the key columns of raw answers that cheaply;
    # the full comparison below reads every column of raw, a second and more at 10M comments, and a
    # batch of new rows (every watch cycle, every backfill) has nothing to compare.
    existing = con.execute(
        f"select count(*) from (select 1 from _land_good g join raw.{ent.name} r on {join} limit 1)"  # noqa: S608
    ).fetchone()[0]
    if existing:
        # Only the key and the action: a copy of every good row would cost a third of a backfill's time
        # and as much memory again as the batch.
        g_keys = ", ".join(f"g.{_q(k)}" for k in ent.key)
        con.execute(
            f"create or replace temp table _land_cmp as select g._ord, {g_keys}, {action} as _action "  # noqa: S608
            f"from _land_good g left join raw.{ent.name} r on {join}",
        )
        counts = dict(con.execute("select _action, count(*) from _land_cmp group by all").fetchall())
    else:
        # No key in raw yet (a backfill, or only new rows): every good row is an insert.
        counts = {"insert": res.rows_in - res.quarantined}
    res.inserted = counts.get("insert", 0)
    res.updated = counts.get("update", 0)
    res.unchanged = counts.get("unchanged", 0) + counts.get("stale", 0)
    if counts.get("stale"):
        res.messages.append(
            f"{ent.name}: {counts['stale']} row(s) older than what the warehouse holds (by {version}) were left "
            "as they are; nothing to do."
        )
    col_list = ", ".join(qcols)
    # Delete then insert: plain inserts keep the primary-key index cheap (insert-or-replace is twice as slow).
    if res.updated:
        key_match = " and ".join(f"raw.{ent.name}.{_q(k)} = c.{_q(k)}" for k in ent.key)
        con.execute(
            f"delete from raw.{ent.name} using _land_cmp c where c._action = 'update' and {key_match}"  # noqa: S608
        )
    good = res.rows_in - res.quarantined
    if res.inserted + res.updated == good:
        # Every good row is written (a backfill, new data): straight from the batch, in its order.
        rows_sql = "select * from _land_good"
    else:
        rows_sql = (
            "select * from _land_good where _ord in "
            "(select _ord from _land_cmp where _action in ('insert', 'update')) order by _ord"
        )
    if res.inserted or res.updated:
        con.execute(
            f"insert into raw.{ent.name} ({col_list}, _extra, _source, _source_line, _batch_id, _loaded_at) "  # noqa: S608
            f"select {col_list}, _extra, _source, _source_line, $batch, $now from ({rows_sql})",
            {"batch": batch_id, "now": now},
        )


def _quarantine_bad(con: duckdb.DuckDBPyConnection, ent: Entity, batch_id: str, now: dt.datetime) -> None:
    # 6. Quarantine the bad rows; a row already held open from an earlier import of the same input is not
    # held twice, so reruns of a bad file do not grow the quarantine.
    record_sql = (
        "case when _raw is not null then json_object('_raw', _raw) else "
        f"json_merge_patch(coalesce(cast(_extra as json), '{{}}'), "
        f"json_object({', '.join(f'{_lit(c)}, {_q(c)}' for c in ent.column_names)})) end"
    )
    con.execute(
        f"""
        insert into tertulia.quarantine
        select $entity, b._source, b._source_line, b._key, b._record, b._rule, b._reason, $batch, $now, null
        from (select _source, _source_line, {_key_json(ent)} as _key, {record_sql} as _record, _rule, _reason, _ord
              from _land_bad) b
        where not exists (
            select 1 from tertulia.quarantine q
            where q.entity = $entity and q.released_at is null and q.rule = b._rule
              and q.source is not distinct from b._source and q.source_line is not distinct from b._source_line
              and cast(q.record as varchar) = cast(b._record as varchar))
        order by b._ord
        """,  # noqa: S608
        {"entity": ent.name, "batch": batch_id, "now": now},
    )


def _release_fixed(
    con: duckdb.DuckDBPyConnection, ent: Entity, batch_id: str, now: dt.datetime, by_source: bool
) -> int:
    # 7. Release what this batch shows was fixed.
    return len(
        con.execute(
            f"""
        update tertulia.quarantine q set released_at = $now
        where q.entity = $entity and q.released_at is null and q.batch_id <> $batch and (
            (q.record_key is not null
             and cast(q.record_key as varchar) in (select cast({_key_json(ent)} as varchar) from _land_good)
             and cast(q.record_key as varchar) not in (
                 select cast({_key_json(ent)} as varchar) from _land_bad where {_key_json(ent)} is not null))
            or ($by_source and q.source in (select distinct _source from _land_chk)
                and not exists (
                    select 1 from _land_bad b where b._source = q.source and b._rule = q.rule
                    and b._source_line is not distinct from q.source_line)))
        returning 1
        """,  # noqa: S608
            {"entity": ent.name, "batch": batch_id, "now": now, "by_source": by_source},
        ).fetchall()
    )


def _report_bad(con: duckdb.DuckDBPyConnection, ent: Entity, res: LandResult) -> None:
    where = _where_name("_source")
    # 8. Messages naming the file, line and what to do.
    rows = con.execute(
        f"select {where} || coalesce(cast(_source_line as varchar), '?') || ': ' || _reason, _rule "  # noqa: S608
        "from _land_bad order by _ord limit $n",
        {"n": MESSAGE_LIMIT},
    ).fetchall()
    for text, rule in rows:
        res.messages.append(f"{text} → quarantined ({rule}); {ADVICE.get(rule, 'fix it and import again')}.")
    if res.quarantined > MESSAGE_LIMIT:
        res.messages.append(
            f"… and {res.quarantined - MESSAGE_LIMIT} more; `tertulia quarantine --entity {ent.name}` lists them all."
        )
    if res.released:
        res.messages.append(
            f"{ent.name}: {res.released} quarantined row(s) released: they landed fine this time."
        )


def _land_direct(
    con: duckdb.DuckDBPyConnection,
    ent: Entity,
    select_sql: str,
    params: list,
    source: str,
    batch_id: str,
    ctx: dict[str, Any],
    now: dt.datetime,
    qcols: list[str],
    expected_rows: int,
    unnumbered_sql: str | None,
    release_fixed_sources: bool,
    proven: frozenset[str] = frozenset(),
) -> LandResult | None:
    """The good rows written straight to raw, in one read of the source: the result when every row of
    the batch was good, new to raw and once in the batch; None otherwise (the caller rolls back).

    The usual backfill and the usual batch of new data are clean, and for them the checked path's copy
    of the batch in a temporary table (read once to check, again to insert) is the cost of the landing.
    Here the same checked select feeds the insert; the rows that arrived are then the batch's rows of
    raw (`_batch_id`), which are checked for what the checked path would have done otherwise: a bad
    row (fewer rows inserted than `expected_rows`), a key twice in the batch, a key raw already held.
    With `unnumbered_sql` the rows are read from it, in parallel, and numbered once in raw.
    """
    res = LandResult(ent.name)
    col_list = ", ".join(qcols)

    def insert(read_sql: str) -> str:
        checked, _, _ = _checked_select(con, ent, read_sql, params, source, ctx, ordered=False, proven=proven)
        return (
            f"insert into raw.{ent.name} ({col_list}, _extra, _source, _source_line, _batch_id, _loaded_at) "  # noqa: S608
            f"select {col_list}, _extra, _source, _source_line, {_lit(batch_id)}, {_lit(str(now))}::timestamp "
            f"from ({checked}) where _rule is null"
        )

    insert_sql = insert(unnumbered_sql) if unnumbered_sql is not None else None
    numbered_later = insert_sql is not None and _keeps_row_order(con, insert_sql, params)
    if not numbered_later:
        insert_sql = insert(select_sql)
    inserted = con.execute(insert_sql, params).fetchone()[0]
    if inserted != expected_rows:
        return None
    mine = f"_batch_id = {_lit(batch_id)}"
    key_cols = ", ".join(_q(k) for k in ent.key)
    # Grouped by the key's hash first: a 64-bit number is cheaper to group than the key's texts (12
    # million of them at 10M comments). Equal keys have equal hashes, so no shared hash means no key
    # twice; a shared one (a duplicate, or two keys with one hash) is settled on the texts.
    for group in (f"hash({key_cols})", key_cols):
        twice = con.execute(
            f"select count(*) from (select 1 from raw.{ent.name} where {mine} "  # noqa: S608 - contract names
            f"group by {group} having count(*) > 1 limit 1)"
        ).fetchone()[0]
        if not twice:
            break
    if twice:
        return None
    join = " and ".join(f"g.{_q(k)} = r.{_q(k)}" for k in ent.key)
    held = con.execute(
        f"select count(*) from (select 1 from raw.{ent.name} g join raw.{ent.name} r on {join} "  # noqa: S608
        f"where g.{mine} and r._batch_id is distinct from {_lit(batch_id)} limit 1)"
    ).fetchone()[0]
    if held:
        return None
    if numbered_later and not _number_lines(con, ent, batch_id):
        return None
    res.rows_in = res.inserted = inserted
    # What the checked path leaves for steps 6 to 8: the batch's rows, all good, none bad.
    try:
        con.execute(f"create or replace temp view _land_chk as select * from raw.{ent.name} where {mine}")  # noqa: S608
        con.execute("create or replace temp view _land_good as select * from _land_chk")
        con.execute(
            "create or replace temp view _land_bad as select *, null::varchar as _rule, null::varchar as _reason, "
            "null::varchar as _raw, 0 as _ord from _land_chk where false"
        )
        _quarantine_bad(con, ent, batch_id, now)  # 6. nothing: no row is bad
        res.released = _release_fixed(con, ent, batch_id, now, release_fixed_sources)  # 7.
        _report_bad(con, ent, res)  # 8.
    finally:
        for v in ("_land_bad", "_land_good", "_land_chk"):
            con.execute(f"drop view if exists temp.{v}")
    return res


# Operators that keep the order of their input rows (DuckDB docs, SQL dialect, order preservation):
# a plan of these alone inserts the rows in the order the files hold them. BATCH_INSERT is the insert
# that keeps the order of a parallel read; plain INSERT (chosen when it need not) may not.
_ORDER_KEEPING = {"BATCH_INSERT", "PROJECTION", "FILTER", "UNION", "READ_JSON"}


def _keeps_row_order(con: duckdb.DuckDBPyConnection, insert_sql: str, params: list) -> bool:
    """Whether DuckDB will insert the rows of `insert_sql` in its select's order: the setting that
    allows it (the default; a user's SET can turn it off) and a plan made only of operators that keep
    the order (a join, say one DuckDB makes of a long IN list, does not)."""
    if not con.execute("select current_setting('preserve_insertion_order')").fetchone()[0]:
        return False
    plan = json.loads(con.execute("explain (format json) " + insert_sql, params).fetchall()[0][1])
    todo = list(plan)
    while todo:
        node = todo.pop()
        if node["name"] not in _ORDER_KEEPING:
            return False
        todo += node.get("children", [])
    return True


def _number_lines(con: duckdb.DuckDBPyConnection, ent: Entity, batch_id: str) -> bool:
    """Set `_source_line` of the batch's rows of raw from their order there; False when that order
    cannot be the files' (the caller then rolls back and lands the batch the checked way).

    DuckDB keeps a select's row order through UNION ALL and an insert, and `rowid` gives the order of
    a table's rows (docs: SQL dialect, order preservation); each file's rows are then one run of rowids,
    its first line first. A source whose rows are not one run (interleaved with another's) fails the
    test below. The update touches only the rows this transaction wrote."""
    mine = f"_batch_id = {_lit(batch_id)}"
    runs = (
        "select _source, min(rowid) as _first, max(rowid) as _last, count(*) as _n "  # noqa: S608
        f"from raw.{ent.name} where {mine} group by _source"
    )
    broken = con.execute(f"select count(*) from ({runs}) where _last - _first + 1 <> _n").fetchone()[0]  # noqa: S608
    if broken:
        return False
    con.execute(
        f"update raw.{ent.name} set _source_line = raw.{ent.name}.rowid - s._first + 1 from ({runs}) s "  # noqa: S608
        f"where raw.{ent.name}.{mine} and raw.{ent.name}._source is not distinct from s._source"
    )
    return True


def _flag_decreasing_counters(con: duckdb.DuckDBPyConnection, ent: Entity) -> None:
    key = LIFETIME_COUNTERS[ent.name]
    series, at = key[:-1], key[-1]
    counters = [c.name for c in ent.columns if c.kind == INTEGER]
    series_cols = ", ".join(_q(c) for c in series)
    key_match = " and ".join(f"b.{_q(k)} = r.{_q(k)}" for k in key)
    union_cols = ", ".join(_q(c) for c in [*series, at, *counters])
    series_match = " and ".join(f"s2.{_q(k)} = r.{_q(k)}" for k in series)
    # The highest earlier value, not just the previous capture: 100, 120, 90, 95 flags both 90 and 95.
    lags = ", ".join(f"max(try_cast(trim({_q(c)}) as bigint)) over w as {_q('_prev_' + c)}" for c in counters)
    drops = ", ".join(
        f"case when try_cast(trim({_q(c)}) as bigint) < {_q('_prev_' + c)} then "
        f"{_lit(c + ' ')} || {_q('_prev_' + c)} || ' → ' || try_cast(trim({_q(c)}) as bigint) end"
        for c in counters
    )
    con.execute(
        f"""
        update _land_chk set _rule = 'counter_decreased',
            _reason = 'lifetime counters lower than an earlier capture of the same post: ' || s._drops
        from (
            select _ord, concat_ws(', ', {drops}) as _drops from (
                select _ord, {union_cols}, {lags}
                from (
                    select _ord, {union_cols} from _land_chk where _rule is null
                    union all
                    select null as _ord, {union_cols} from raw.{ent.name} r
                    where not exists (select 1 from _land_chk b where b._rule is null and {key_match})
                      -- only the series this batch touches
                      and exists (select 1 from _land_chk s2 where s2._rule is null and {series_match})
                )
                window w as (partition by {series_cols} order by {_instant(_q(at))}
                             rows between unbounded preceding and 1 preceding)
            ) where _ord is not null
        ) s
        where _land_chk._ord = s._ord and s._drops <> ''
        """  # noqa: S608 - identifiers from the contract
    )


def _text(v: Any) -> str | None:
    """A record value as raw text: the contract stores values as delivered, so only the type changes."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool | dict | list):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return str(v)


def lookup_keys_select(entity: Entity, rows_sql: str) -> str:
    """SQL: the distinct `raw_lookup_columns` values of `rows_sql` (a relation or a parenthesised
    select of the contract's text columns), trimmed as landing trims keys; rows missing one left out
    (landing quarantines them, they compare with nothing)."""
    columns = raw_lookup_columns(entity)
    shaped = ", ".join(f"{_trimmed_id(_q(c))} as {_q(c)}" for c in columns)
    present = " and ".join(f"{_q(c)} is not null" for c in columns)
    return f"select distinct * from (select {shaped} from {rows_sql}) where {present}"  # noqa: S608


def record_keys(con: duckdb.DuckDBPyConnection, entity: str, records: list[dict], table: str) -> None:
    """Temp table `table`: the distinct values of the records' `raw_lookup_columns`, trimmed as
    landing trims keys (what a scratch copy of raw needs before `land_records` lands them)."""
    columns = raw_lookup_columns(ENTITIES[entity])
    keys = pa.table({c: pa.array([_text(r.get(c)) for r in records], type=pa.string()) for c in columns})
    view = f"_record_keys_{uuid.uuid4().hex[:8]}"
    con.complete()
    con.register(view, keys)
    try:
        con.execute(f"create or replace temp table {table} as {lookup_keys_select(ENTITIES[entity], view)}")
    finally:
        con.unregister(view)


def land_records(
    con: duckdb.DuckDBPyConnection,
    entity: str,
    records: list[dict],
    *,
    source: str,
    batch_id: str,
    timezone: str = "UTC",
    now: dt.datetime | None = None,
    earliest: dt.date = DEFAULT_EARLIEST,
    future_tolerance: dt.timedelta = DEFAULT_FUTURE_TOLERANCE,
) -> LandResult:
    """Land records already in the raw contract (API connectors): one Arrow table, one set-based merge.
    `now`, `earliest` and `future_tolerance` bound a plausible timestamp as for file imports."""
    ent = ENTITIES.get(entity)
    if ent is None:
        raise ValueError(f"unknown entity {entity!r}; expected one of {', '.join(ENTITIES)}")
    names = ent.column_names
    known = set(names)
    data: dict[str, list[Any]] = {c: [r.get(c) for r in records] for c in names}
    table = pa.table(
        {
            **{c: pa.array([_text(v) for v in vals], type=pa.string()) for c, vals in data.items()},
            "_extra": pa.array(
                [
                    json.dumps(
                        {k: v for k, v in r.items() if k not in known}, ensure_ascii=False, default=str
                    )
                    if any(k not in known for k in r)
                    else None
                    for r in records
                ],
                type=pa.string(),
            ),
            "_source_line": pa.array(range(1, len(records) + 1), type=pa.int64()),
        }
    )
    view = f"_land_records_{uuid.uuid4().hex[:8]}"
    # duckdb 2.0 refuses register() while a caller's earlier result is half-fetched; that result is done with.
    con.complete()
    con.register(view, table)
    try:
        return land_relation(
            con,
            entity,
            f"select * exclude (_extra), cast(_extra as json) as _extra, ? as _source from {view}",  # noqa: S608
            source=source,
            batch_id=batch_id,
            params=[source],
            timezone=timezone,
            now=now,
            earliest=earliest,
            future_tolerance=future_tolerance,
        )
    finally:
        con.unregister(view)
