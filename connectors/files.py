"""The file-export connector: land a bundle folder (docs/bundle-format.md) through DuckDB's readers.

A bundle holds one file per entity (`comments.jsonl`, `posts.csv.gz`, `post_metrics.parquet`...) or a
folder per entity (`comments/2026-03-01.jsonl`, ...). Each file is read by DuckDB, never row by row in
Python: CSV with `read_csv(all_varchar)`, JSON lines as text lines (so a malformed line is kept and
quarantined with its line number instead of being dropped by `ignore_errors`), Parquet with
`read_parquet`. Each entity lands in its own transaction through `connectors.landing.land_relation`.

A problem with a whole file (unknown entity, unsupported format, missing required column, not UTF-8,
unreadable) stops that entity only, with a message naming the file and what to do; the other entities
still land and nothing already in the warehouse changes.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import duckdb
import yaml

from connectors.landing import (
    NUMBER_FORMATS,
    LandResult,
    _lit,
    _q,
    ensure_quarantine,
    land_relation,
    lookup_keys_select,
    new_batch_id,
    raw_lookup_columns,
)
from tertulia.config import Config
from tertulia.contract import ENTITIES, Entity
from tertulia.progress import progress
from tertulia.raw_schema import ensure_raw_tables

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet"}
# The bundle's own description (optional; its name starts with '_', so it is never read as an entity).
MANIFEST = "_bundle.yml"
# The longest line (JSON) or row (CSV) read. DuckDB's default, 2 MB, refused a whole file for one long
# line; a line this long is read and its row quarantined (text over 64 KiB), the rest of the file lands.
MAX_LINE_BYTES = 256 * 1024 * 1024
# read_csv's buffer, which must hold the longest line: left to DuckDB it is 16 times that (4 GiB), which
# a gzip file's reader allocates whole, refused under Tertulia's memory limit (tertulia.resources).
_BUFFER = f"max_line_size={MAX_LINE_BYTES}, buffer_size={MAX_LINE_BYTES + 2**20}"
# A delimiter no JSON line contains (raw control characters are invalid in JSON), so read_csv hands each
# physical line over whole.
_LINE_READER = (
    "read_csv(?, columns={'line': 'VARCHAR'}, delim=chr(1)||chr(2)||chr(3)||chr(4), quote='', escape='', "
    f"header=false, auto_detect=false, strict_mode=false, {_BUFFER})"
)
# Only a line that ends in CR (a CRLF file) is copied to drop it: rtrim on every line costs more than
# reading the file.
_LINES = (
    "select row_number() over () as ln, "  # noqa: S608 - constant text
    f"case when ends_with(line, chr(13)) then rtrim(line, chr(13)) else line end as line from {_LINE_READER}"
)
# skip=0: left to itself the sniffer may take a later row as the header and silently drop the lines above it.
_CSV = f"read_csv(?, all_varchar=true, header=true, skip=0, {_BUFFER})"
# The same read keeping the rows that do not fit the header apart (in the tables named by the two
# parameters after the path), so one ragged row is quarantined and the rest of the file lands.
_CSV_REJECTS = (
    f"read_csv(?, all_varchar=true, header=true, skip=0, {_BUFFER}, "
    "store_rejects=true, rejects_table=?, rejects_scan=?)"
)


def readable(p: Path) -> str:
    """The path as DuckDB's readers take it: they read a path as a glob pattern, so a file named
    `[ab].jsonl` would read a.jsonl and b.jsonl. Each pattern character is put in a class of its own."""
    return re.sub(r"([\[*?])", r"[\1]", str(p))


class BundleFileError(ValueError):
    """A whole file of the bundle cannot be landed; the message names it and says what to do."""


@dataclass
class ImportReport:
    bundle_dir: Path
    batch_id: str
    entities: dict[str, LandResult] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # whole-file problems: that entity did not land
    notes: list[str] = field(default_factory=list)  # things worth knowing that are not errors

    @property
    def quarantined(self) -> int:
        return sum(r.quarantined for r in self.entities.values())

    def render(self) -> str:
        # "Imported" above "no such bundle folder" read as a success: say it when no file landed at all.
        verb = "Imported" if self.entities else "Nothing imported from"
        lines = [f"{verb} {self.bundle_dir} (batch {self.batch_id})"]
        for res in self.entities.values():
            lines.append("  " + res.summary())
            lines += [f"    {m}" for m in res.messages]
        lines += [f"  note: {n}" for n in self.notes]
        if self.errors:
            lines.append(f"{len(self.errors)} file problem(s); those entities did not land:")
            lines += [f"  error: {e}" for e in self.errors]
        if self.quarantined:
            lines.append(
                "`tertulia quarantine` lists the held rows; fix the file and import it again to release them."
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class Manifest:
    """What a bundle says about itself in its optional _bundle.yml."""

    # Which separator groups thousands in its integers: "es" (1.000 is a thousand), "en" (1,000),
    # or None (undeclared: a grouped value is quarantined as ambiguous, never guessed).
    numbers: str | None = None


def read_manifest(bundle_dir: Path) -> Manifest:
    path = bundle_dir / MANIFEST
    if not path.is_file():
        return Manifest()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BundleFileError(
            f"{path}: not valid UTF-8 YAML ({exc}); fix it and import again. Nothing was landed."
        ) from None
    if not isinstance(data, dict) or set(data) - {"numbers"}:
        raise BundleFileError(
            f"{path}: a bundle manifest holds only `numbers: es` or `numbers: en` (which separator groups "
            f"thousands); found {sorted(data) if isinstance(data, dict) else type(data).__name__}. Fix it and "
            "import again. Nothing was landed."
        )
    numbers = data.get("numbers")
    if numbers is not None and numbers not in NUMBER_FORMATS:
        raise BundleFileError(
            f"{path}: numbers: {numbers!r} is not a number format; use es (1.000 is a thousand, 1,5 a decimal) "
            "or en (1,000 is a thousand). Nothing was landed."
        )
    return Manifest(numbers=numbers)


def split_name(path: Path) -> tuple[str, str | None, bool]:
    """(entity name, format or None when unsupported, gzip?) from a file name like comments.jsonl.gz."""
    name = path.name
    gz = name.lower().endswith(".gz")
    if gz:
        name = name[:-3]
    stem, dot, ext = name.rpartition(".")
    if not dot:
        return name, None, gz
    return stem, FORMATS.get("." + ext.lower()), gz


def ignored(path: Path) -> bool:
    return path.name.startswith(("_", ".")) or path.name.upper().startswith("README")


def _leaves(p: Path, bundle_dir: Path) -> str | None:
    """An error when `p` is a link pointing outside the bundle (read: the bundle's resolved folder).

    Such a link would land a file from anywhere on the machine, or list a system folder's file names
    in the report; the message names the link only, never what it points at."""
    if not p.is_symlink():
        return None
    target = p.resolve()
    if target == bundle_dir or bundle_dir in target.parents:
        return None
    return (
        f"{p}: a symbolic link that leads out of the bundle folder; refused, nothing was read through it. "
        "Copy the file into the bundle instead."
    )


def discover(bundle_dir: Path) -> tuple[dict[str, list[Path]], list[str], set[str]]:
    """Files per entity, errors about files that are not part of the contract, and entities stopped by them."""
    files: dict[str, list[Path]] = {}
    errors: list[str] = []
    stopped: set[str] = set()
    known = ", ".join(ENTITIES)
    for p in sorted(bundle_dir.iterdir()):
        if ignored(p):
            continue
        if (leaves := _leaves(p, bundle_dir)) is not None:
            errors.append(leaves)
            stopped.add(split_name(p)[0])
            continue
        if p.is_dir():
            if p.name not in ENTITIES:
                errors.append(
                    f"{p}: unknown entity folder {p.name!r}; a bundle holds only these entities: {known}. "
                    "Rename it, or start its name with '_' to keep it out of the import."
                )
                continue
            inside = []
            for f in sorted(p.iterdir()):
                if ignored(f):
                    continue
                if (leaves := _leaves(f, bundle_dir)) is not None:
                    errors.append(leaves)
                    stopped.add(p.name)
                elif f.is_file():
                    inside.append(f)
            for f in inside:
                if split_name(f)[1] is None:
                    errors.append(_unsupported(f))
                    stopped.add(p.name)
            files.setdefault(p.name, []).extend(inside)
            continue
        entity, fmt, _ = split_name(p)
        if entity not in ENTITIES:
            errors.append(
                f"{p}: unknown entity file {p.name!r}; a bundle holds only these entities: {known} "
                "(as .csv, .jsonl, .ndjson, .json or .parquet, optionally .gz). Rename it or remove it."
            )
            continue
        if fmt is None:
            errors.append(_unsupported(p))
            stopped.add(entity)
            continue
        files.setdefault(entity, []).append(p)
    return files, errors, stopped


def _unsupported(p: Path) -> str:
    return (
        f"{p}: unsupported format {''.join(p.suffixes) or '(no extension)'!r}; export it as CSV, JSON lines or "
        f"Parquet (optionally gzip) and name it like {split_name(p)[0]}.csv. Nothing of {split_name(p)[0]} "
        "was landed; what the warehouse already holds is unchanged."
    )


def _is_empty(p: Path, gz: bool) -> bool:
    if p.stat().st_size == 0:
        return True
    if gz:
        try:
            with gzip.open(p, "rb") as fh:
                return not fh.read(1)
        except OSError as exc:
            raise BundleFileError(
                f"{p}: not a readable gzip file ({exc}); compress it again or remove .gz"
            ) from None
    return False


def _first_char(p: Path, gz: bool) -> str:
    opener = gzip.open if gz else open
    with opener(p, "rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1].decode("ascii", errors="replace")


def _missing_required(ent: Entity, present: set[str], p: Path, *, json_records: bool = False) -> None:
    # JSON writers leave out null keys, so in JSON only the columns that can never be empty must appear.
    missing = [
        c.name
        for c in ent.columns
        if c.required and (c.nullable is False or not json_records) and c.name not in present
    ]
    if missing:
        raise BundleFileError(
            f"{p}: missing required column(s) {', '.join(missing)} for {ent.name}; "
            f"{ent.name} needs {', '.join(c.name for c in ent.columns if c.required)}. Add the column "
            "(it may be empty where the value is optional) and import again. Nothing of this file was landed."
        )


def _extra_json(extras: list[tuple[str, str]]) -> str:
    """SQL for `_extra`: a JSON object of the non-contract columns (name in the file, SQL expression)."""
    if not extras:
        return "null::json"
    return "json_object(" + ", ".join(f"{_lit(name)}, {expr}" for name, expr in extras) + ")"


def _unsniffable(header: list[str]) -> bool:
    """The sniffer gave up (a ragged file): generic column names, or the whole first line as one name."""
    return all(re.fullmatch(r"column\d+", h) for h in header) or (
        len(header) == 1 and bool(re.search(r"[,;\t|]", header[0]))
    )


def _swallowed_rows(header: list[str]) -> tuple[str, str]:
    """SQL (rule, reason) for a row whose value runs over lines that look like rows of the file.

    An unclosed quote makes the reader take the following rows as part of one value: the row then
    fails some rule far from its cause (an "unknown channel"), or lands with the other rows inside it.
    A line break followed by as many delimiters as the header has is what such a value looks like;
    a message written over several lines rarely has that many. Only values holding a line break pay
    for the pattern."""
    k = max(len(header) - 1, 1)
    pattern = _lit("|".join(f"\n([^\n{d}]*{d}){{{k}}}" for d in (",", ";", "\t", "[|]")))
    # A CASE, so the pattern runs on the rows holding a line break only (an AND would run it on all).
    breaks = " or ".join(f"contains({_q(h)}, chr(10))" for h in header)
    swallowed = " or ".join(f"regexp_matches({_q(h)}, {pattern})" for h in header)
    reason = (
        "'a quoted value runs over several lines that look like rows of this file (an unclosed quote?); "
        "the rows it took in are held here with it'"
    )
    return (
        f"case when {breaks} then case when {swallowed} then 'malformed_record' end end",
        f"case when {breaks} then case when {swallowed} then {reason} end end",
    )


def _csv_columns(ent: Entity, header: list[str], p: Path) -> tuple[list[str], str]:
    """The contract's columns (by header name, case and spaces ignored) and `_extra` of a CSV read."""
    by_norm = {h.strip().lower(): h for h in header}
    _missing_required(ent, set(by_norm), p)
    cols = [
        f"{_q(by_norm[c])} as {_q(c)}" if c in by_norm else f"null::varchar as {_q(c)}"
        for c in ent.column_names
    ]
    extras = [(h, _q(h)) for h in header if h.strip().lower() not in ent.column_names]
    return cols, _extra_json(extras)


def _select_csv(
    con: duckdb.DuckDBPyConnection, ent: Entity, p: Path, stage: str, *, fast: bool = True
) -> tuple[str, list]:
    """CSV rows numbered as data rows. The usual file is read straight into the landing select; a
    ragged one (or one whose read failed, `fast` False) the way that sets bad rows apart."""
    try:
        header = [r[0] for r in con.execute(f"describe select * from {_CSV}", [readable(p)]).fetchall()]  # noqa: S608
    except duckdb.InvalidInputException as exc:
        if "sniffing" not in str(exc):
            raise
        header = []  # the sniffer found no dialect at all (a stray quote or line break)
    if not fast or not header or _unsniffable(header):
        return _select_csv_rejects(con, ent, p, stage)
    cols, extra = _csv_columns(ent, header, p)
    rule, reason = _swallowed_rows(header)
    sql = (
        f"select {', '.join(cols)}, {extra} as _extra, ? as _source, "  # noqa: S608
        f"row_number() over () as _source_line, {rule} as _reject_rule, {reason} as _reject_reason, "
        f"null::varchar as _raw from {_CSV}"
    )
    return sql, [str(p), readable(p)]


def _select_csv_rejects(con: duckdb.DuckDBPyConnection, ent: Entity, p: Path, stage: str) -> tuple[str, list]:
    """A CSV read whose rows that do not fit the header (too many or too few fields, an unclosed quote)
    are quarantined one by one with their data-row number; the other rows land.

    DuckDB's sniffer gives up on such files (or picks a dialect without quotes, which makes every
    quoted comma a stray one), so the dialect is the header line's: its delimiter, double quotes.
    DuckDB hands the rejected rows over with their first physical line (header included) and text;
    the rows kept are numbered in order, so the k-th kept row is data row k plus the lines the rejected
    rows before it took."""
    delim, names = _csv_header(p)
    if not all(n.strip() for n in names) or len({n.strip().lower() for n in names}) != len(names):
        raise BundleFileError(
            f"{p}: the header has an empty or repeated column name ({', '.join(names)}) and some rows do not "
            "fit it. Nothing of this file was landed; fix the header and import again."
        )
    rejects, scans = f"{stage}_rejects", f"{stage}_scans"
    for t in (stage, rejects, scans):
        con.execute(f"drop table if exists temp.{t}")
    columns = "{" + ", ".join(f"{_lit(n)}: 'VARCHAR'" for n in names) + "}"
    con.execute(
        f"create temp table {stage} as select row_number() over () as _rn, * "  # noqa: S608 - names made here
        f"from read_csv(?, columns={columns}, auto_detect=false, header=true, skip=0, delim={_lit(delim)}, "
        f"quote='\"', escape='\"', {_BUFFER}, "
        f"store_rejects=true, rejects_table={_lit(rejects)}, rejects_scan={_lit(scans)})",
        [readable(p)],
    )
    cols, extra = _csv_columns(ent, names, p)
    rule, reason = _swallowed_rows(names)
    lines = "(1 + length(any_value(csv_line)) - length(replace(any_value(csv_line), chr(10), '')))"
    bad = f"""
        select d, csv_line, reason, span,
            d - 1 - coalesce(sum(span) over (order by d rows between unbounded preceding and 1 preceding), 0)
                as kept_before
        from (
            select line - 1 as d, any_value(csv_line) as csv_line, {lines} as span,
                case when {lines} > 1 or bool_or(error_type = 'UNQUOTED VALUE')
                     then 'an unclosed quote: a quoted value runs over ' || {lines}
                          || ' lines, and the rows it took in are held here with it; close the quote'
                     when bool_and(error_type in ('TOO MANY COLUMNS', 'MISSING COLUMNS'))
                     then 'the row has ' || max(try_cast(regexp_extract(error_message, 'Found: ([0-9]+)', 1) as int))
                          || ' fields but the header has {len(names)} (a stray delimiter or an unclosed quote?)'
                     else 'the row does not fit the header: ' || string_agg(distinct error_message, '; ')
                end as reason
            from temp.{rejects} group by line
        )
    """  # noqa: S608 - names made here
    none = ", ".join(f"null::varchar as {_q(c)}" for c in ent.column_names)
    sql = f"""
        select {", ".join(cols)}, {extra} as _extra, ? as _source,
            _rn + coalesce((select sum(span) from ({bad}) b where b.kept_before < s._rn), 0) as _source_line,
            {rule} as _reject_rule, {reason} as _reject_reason, null::varchar as _raw
        from temp.{stage} s
        union all
        select {none}, null::json as _extra, ? as _source, d as _source_line, 'malformed_record' as _reject_rule,
            reason as _reject_reason, csv_line as _raw
        from ({bad})
    """  # noqa: S608 - identifiers from the contract and the header (quoted); the path is bound
    return sql, [str(p), str(p)]


def _csv_header(p: Path) -> tuple[str, list[str]]:
    """The delimiter and column names of a CSV file's first line (read in Python: the error path only)."""
    opener = gzip.open if p.name.lower().endswith(".gz") else open
    try:
        with opener(p, "rt", encoding="utf-8-sig", newline="") as fh:
            first = fh.readline().rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise BundleFileError(explain_read_error(p, exc)) from None
    try:
        delim = csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
    except csv.Error:
        delim = ","
    return delim, next(csv.reader([first], delimiter=delim), [])


def _select_parquet(con: duckdb.DuckDBPyConnection, ent: Entity, p: Path) -> tuple[str, list]:
    header = [r[0] for r in con.execute("describe select * from read_parquet(?)", [readable(p)]).fetchall()]
    _missing_required(ent, set(header), p)
    cols = [
        f"cast({_q(c)} as varchar) as {_q(c)}" if c in header else f"null::varchar as {_q(c)}"
        for c in ent.column_names
    ]
    extras = [(h, _q(h)) for h in header if h not in ent.column_names]
    sql = (
        f"select {', '.join(cols)}, {_extra_json(extras)} as _extra, ? as _source, "  # noqa: S608
        "file_row_number + 1 as _source_line, null::varchar as _reject_rule, null::varchar as _reject_reason, "
        "null::varchar as _raw from read_parquet(?, file_row_number=true)"
    )
    return sql, [str(p), readable(p)]


# Name of the line number in the fast path's read (a record key of that name sends the file the slow way).
_FAST_LN = "__tertulia_line_number"


class FileSelect(NamedTuple):
    """The select of a file's records (every row with its line), its parameters, and, when they are
    known without reading the rows, how many rows it returns and the same select without line numbers
    (`_source_line` null, the same parameters): what land_relation's straight write to raw reads."""

    sql: str
    params: list
    rows: int | None = None
    unnumbered: str | None = None
    proven: frozenset[str] = frozenset()  # landing rules no row breaks (land_relation's `proven`)


class JsonLines(NamedTuple):
    keys: list[str]  # every key of every record, sorted
    lines: int  # the file's lines, each one record
    # Landing rules the pass showed no line breaks (landing.PROVABLE_BY_READER); none unless shown.
    proven: frozenset[str] = frozenset()


def _strict_json_lines(con: duckdb.DuckDBPyConnection, ent: Entity, p: Path) -> JsonLines | None:
    """The keys and lines of a JSON-lines file DuckDB's `read_json` can take whole, or None for the line path.

    One pass over the lines parses each with `json_keys`, which fails on the first malformed line or
    raw NUL byte (the caller then takes the line path, which quarantines it with its number; never
    `ignore_errors`, which drops lines silently). `read_json` skips blank lines, which would shift every
    later line number, and refuses a line that is not an object, so the fast path also needs every
    physical line to be an object.

    The same pass looks for the escape `\\u0000` in each line: a file without it has no NUL in any
    value (a raw NUL fails the parse), so the straight write to raw skips the NUL test of each of the
    contract's columns (`proven`).
    """
    try:
        # Grouped by key list (a file has few), no row numbers (numbering forces one thread), no rtrim of
        # CR (JSON ignores it): each costs more than the parse. The list is grouped as one text (keys
        # joined by chr(1)) with its length: grouping by the list itself cost a third of the pass.
        # One text search per line against thirteen per row in the write (a fifth of the rules' cost).
        rows = con.execute(
            "select array_to_string(ks, chr(1)), len(ks), count(*), count(*) filter (where obj), "  # noqa: S608
            "bool_or(nul) from (select json_keys(line) as ks, starts_with(line, '{') as obj, "
            f"contains(line, '\\u0000') as nul from {_LINE_READER}) group by all",
            [readable(p)],
        ).fetchall()
    except duckdb.Error:
        return None
    nul = any(r[4] for r in rows)
    groups = [
        (text.split("\x01") if size else [], size or 0, n, objects) for text, size, n, objects, _ in rows
    ]
    if any(len(ks) != size for ks, size, _, _ in groups):
        return None  # a key holding chr(1) (the joint): the line path reads it as it is
    groups = [(ks, n, objects) for ks, _, n, objects in groups]
    lines = sum(n for _, n, _ in groups)
    objects = sum(n for _, _, n in groups)
    keys = {k for ks, _, _ in groups for k in ks or []}
    if any(len(set(ks)) != len(ks) for ks, _, _ in groups if ks) or "" in keys:
        # A key twice in one record (read_json keeps one value silently) or an empty key: the line
        # path quarantines those records.
        return None
    if not keys or objects != lines or _FAST_LN in keys:
        # No keys at all (empty objects only): the line path gives the precise message.
        return None
    names = [*ent.column_names, *(k for k in keys if k not in ent.column_names)]
    if len({n.lower() for n in names}) != len(names):
        return None  # read_json matches names without case: "Platform" beside "platform" needs the line path
    return JsonLines(sorted(keys), lines, frozenset() if nul else frozenset({"nul_byte"}))


def _extra_members(extras: list[str], value: str) -> str:
    """SQL for `_extra` from the extra keys' JSON values (`value` formats the SQL of the i-th, 1-based).

    A JSON object of the extra keys the record has, in a fixed (sorted) order so the same record always
    gives the same text whichever path read it; a key whose value is null is left out (it says nothing,
    and read_json cannot tell it from an absent key)."""
    if not extras:
        return "null::json"
    values = [value.format(i=i, key=_q(k)) for i, k in enumerate(extras, 1)]
    members = ", ".join(
        f"{_lit(json.dumps(k, ensure_ascii=False) + ':')} || {v}" for k, v in zip(extras, values, strict=True)
    )
    # The usual record has every extra key: json_object builds it without the parse a cast to JSON costs
    # (a third of the fast path's read time); the same text as the general form below.
    every = " and ".join(f"{v} is not null" for v in values)
    complete = (
        "json_object(" + ", ".join(f"{_lit(k)}, {v}" for k, v in zip(extras, values, strict=True)) + ")"
    )
    general = f"cast(nullif('{{' || concat_ws(',', {members}) || '}}', '{{}}') as json)"
    return f"case when {every} then {complete} else {general} end"


def _select_json_lines(
    con: duckdb.DuckDBPyConnection,
    ent: Entity,
    p: Path,
    stage: str,
    *,
    array: bool = False,
    fast: bool = True,
) -> FileSelect:
    """JSON records, one per line (or array element), each kept with its number; with the select and its
    parameters, the number of rows when the fast path counted them (and then the unnumbered select).

    Fast path: a file whose every line is a JSON object (the usual case) is read by DuckDB's own
    `read_json` straight into the landing select, every column as text (extra keys as JSON), at about
    the speed of a plain `read_json`. Otherwise (a malformed line, a NUL byte, blank lines, a JSON
    array), or when `fast` is False, the file is read as text lines into the temp table `stage` (outside
    the landing transaction; it holds nothing of the warehouse), so a malformed line is kept and
    quarantined with its number instead of being dropped. Both paths give the same values.
    """
    shape = _strict_json_lines(con, ent, p) if fast and not array else None
    contract = set(ent.column_names)
    if shape is not None:
        keys = shape.keys
        extras = [k for k in keys if k not in contract]
        _missing_required(ent, set(keys), p, json_records=True)
        spec = ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in ent.column_names) + "".join(
            f", {_lit(k)}: 'JSON'" for k in extras
        )

        def read(line_number: str) -> str:
            return f"""
            select {", ".join(_q(c) for c in ent.column_names)},
                {_extra_members(extras, "{key}")} as _extra, ? as _source, {_q(_FAST_LN)} as _source_line,
                null::varchar as _reject_rule, null::varchar as _reject_reason, null::varchar as _raw
            from (select {line_number} as {_q(_FAST_LN)}, *
                  from read_json(?, format='newline_delimited', records=true, columns={{{spec}}}))
            """  # noqa: S608 - identifiers and constants from the contract and the file's keys (quoted); the path is bound

        # Numbered for the checked path; unnumbered (read on every core) for the straight write to raw,
        # which numbers the lines once they are in raw (connectors.landing._number_lines).
        return FileSelect(
            read("row_number() over ()"),
            [str(p), readable(p)],
            shape.lines,
            read("null::bigint"),
            shape.proven,
        )

    lines_sql = (
        "select row_number() over () as ln, cast(json as varchar) as line from read_json_objects(?, format='array')"
        if array
        else _LINES
    )
    contract_list = "[" + ", ".join(_lit(c) for c in ent.column_names) + "]"
    con.execute(
        f"create or replace temp table {stage} as "  # noqa: S608 - stage is a name made by import_bundle
        # Valid JSON that starts with '{' is an object: no second parse for json_type.
        "select ln, line, coalesce(starts_with(ltrim(line), '{') and json_valid(line), false) "
        f"and not contains(line, chr(0)) as _ok from ({lines_sql}) where nullif(trim(line), '') is not null",
        [readable(p)],
    )
    # Keys that make a record ambiguous: it is quarantined whole, as delivered. Names of the contract
    # are lower case and keys are matched exactly, so `Platform` alone would leave platform empty.
    con.execute(
        f"""
        create or replace temp table {stage} as
        select ln, line, _ok,
            case when list_contains(ks, '') then 'the record has an empty key ""'
                 when len(ks) <> len(list_distinct(ks)) then 'the record has the key "' ||
                      list_filter(ks, lambda k, i: list_position(ks, k) < i)[1] || '" twice (which value is meant?)'
                 when len(variants) > 0 then 'the key "' || variants[1] || '" differs from the column "' ||
                      lower(variants[1]) || '" only in case; keys are matched exactly: rename it'
            end as _key_problem
        from (select *, list_filter(ks, lambda k: k <> lower(k) and list_contains({contract_list}, lower(k))
                                                  and not list_contains(ks, lower(k))) as variants
              from (select *, case when _ok then json_keys(line) end as ks from {stage}))
        """  # noqa: S608 - contract names as literals; stage is a name made by import_bundle
    )
    keys = sorted(
        r[0]
        for r in con.execute(
            f"select distinct unnest(json_keys(line)) from {stage} where _ok and _key_problem is null"  # noqa: S608
        ).fetchall()
    )
    if con.execute(f"select count(*) from {stage} where _ok and _key_problem is null").fetchone()[0]:  # noqa: S608
        _missing_required(ent, set(keys), p, json_records=True)
    paths = "[" + ", ".join(_lit("$." + _json_key(c)) for c in ent.column_names) + "]"
    cols = [f"v[{i}] as {_q(c)}" for i, c in enumerate(ent.column_names, start=1)]
    extras = [k for k in keys if k not in contract]
    # json_extract gives SQL NULL for an absent key and JSON null for an explicit one: both left out.
    extract_x = (
        ", case when _ok and _key_problem is null then json_extract(line, ["
        + ", ".join(_lit("$." + _json_key(k)) for k in extras)
        + "]) end as x"
        if extras
        else ""
    )
    sql = f"""
        select {", ".join(cols)}, {_extra_members(extras, "(case when cast(x[{i}] as varchar) <> 'null' then x[{i}] end)")} as _extra,
            ? as _source, ln as _source_line,
            case when contains(line, chr(0)) then 'nul_byte'
                 when not _ok or _key_problem is not null then 'malformed_record' end as _reject_rule,
            case when contains(line, chr(0)) then 'the line contains a NUL byte'
                 when not json_valid(line) then 'not valid JSON: ' || left(line, 60)
                 when not _ok then 'not a JSON object: ' || left(line, 60)
                 else _key_problem end as _reject_reason,
            case when not _ok or _key_problem is not null then line end as _raw
        from (select *, case when _ok and _key_problem is null then json_extract_string(line, {paths}) end as v{extract_x}
              from {stage})
    """  # noqa: S608 - identifiers and constants from the contract; the path is bound
    return FileSelect(sql, [str(p)])


def _json_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else '"' + name + '"'


def _select_file(
    con: duckdb.DuckDBPyConnection, ent: Entity, p: Path, fmt: str, gz: bool, stage: str, *, fast: bool = True
) -> FileSelect:
    """The select of a file's records, its parameters, and how many rows it returns when that is known
    without reading them (a JSON-lines file on the fast path: its lines)."""
    if fmt == "csv":
        return FileSelect(*_select_csv(con, ent, p, stage, fast=fast))
    if fmt == "parquet":
        return FileSelect(*_select_parquet(con, ent, p))
    if fmt == "json" and _first_char(p, gz) == "[":
        # A JSON array: one element per record, numbered from 1 (reported as "line").
        return _select_json_lines(con, ent, p, stage, array=True)
    return _select_json_lines(con, ent, p, stage, fast=fast)


def _utf16(p: Path) -> bool:
    """A UTF-16 file: its byte-order mark, or ASCII text with a zero byte beside every character."""
    try:
        opener = gzip.open if p.name.lower().endswith(".gz") else open
        with opener(p, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return False
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return len(head) >= 4 and (head[1::2].count(0) > len(head) // 4 or head[0::2].count(0) > len(head) // 4)


def explain_read_error(p: Path, exc: Exception) -> str:
    text = str(exc)
    # DuckDB's sniffer failures list "Encoding: utf-8" among what they tried: only its unicode error says
    # the bytes are not UTF-8.
    not_utf8 = (
        "invalid unicode" in text.lower() or "not utf-8" in text.lower() or isinstance(exc, UnicodeError)
    )
    if not_utf8 and _utf16(p):
        return (
            f"{p}: UTF-16 encoded (as Excel's 'Unicode text' and some Windows tools write); a bundle is UTF-8. "
            "Nothing of this file was landed. Save it as UTF-8 (or run `iconv -f utf-16 -t utf-8 "
            f"{p.name} > fixed.{p.name.split('.', 1)[-1]}`) and import again."
        )
    if not_utf8:
        m = re.search(r"Line: (\d+)", text)
        where = f" (first bad byte near line {m.group(1)})" if m else ""
        return (
            f"{p}: not UTF-8 encoded{where}; it looks like Latin-1/Windows-1252, as older Excel exports are. "
            "Nothing of this file was landed. Save it as 'CSV UTF-8' (or run `iconv -f latin1 -t utf-8 "
            f"{p.name} > fixed.{p.name.split('.', 1)[-1]}`) and import again."
        )
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return (
        f"{p}: could not be read ({first}). Nothing of this file was landed; check that it is a valid "
        f"{split_name(p)[1] or 'data'} file and import again."
    )


def import_bundle(con: duckdb.DuckDBPyConnection, bundle_dir: Path, config: Config) -> ImportReport:
    """Land every entity of a bundle folder; safe to repeat (a rerun inserts and updates nothing)."""
    # Absolute paths as sources, so a file re-imported from another folder is still recognised as the same.
    bundle_dir = Path(bundle_dir).resolve()
    report = ImportReport(bundle_dir=bundle_dir, batch_id=new_batch_id())
    if not bundle_dir.is_dir():
        report.errors.append(
            f"{bundle_dir}: no such bundle folder. Point `tertulia import` (or bundle_dir in community.yml) at a "
            "folder holding files like comments.jsonl and posts.csv; `tertulia sample DIR` writes an example."
        )
        return report
    try:
        manifest = read_manifest(bundle_dir)
    except BundleFileError as exc:
        report.errors.append(str(exc))
        return report
    ensure_raw_tables(con)
    ensure_quarantine(con)
    files, errors, stopped = discover(bundle_dir)
    report.errors += errors
    if not files and not errors:
        report.notes.append(
            f"{bundle_dir}: no entity files in this folder, nothing to land. A bundle holds files like "
            "comments.jsonl and posts.csv (docs/bundle-format.md); is this the right folder?"
        )
    with progress(f"Importing {bundle_dir.name}", total=len(files)) as steps:
        for entity, paths in files.items():
            steps.advance(0, description=f"Importing {entity} ({len(paths)} file(s))")
            if entity in stopped:
                steps.advance()
                continue
            args = (con, ENTITIES[entity], paths, bundle_dir, config, manifest, report)
            result = _import_entity(*args, fast=True)
            if result is _RETRY:
                # The fast read failed half-way (something its pre-check did not foresee): the landing
                # transaction rolled back, so read the slow, line-by-line way, which explains any bad line.
                result = _import_entity(*args, fast=False)
            if isinstance(result, LandResult):
                report.entities[entity] = result
            steps.advance()
    return report


_RETRY = object()


def bundle_keys(con: duckdb.DuckDBPyConnection, bundle_dir: Path) -> dict[str, str | None]:
    """For each entity with files in the bundle, a temp table of the distinct values of the columns by
    which its landing reads raw (`landing.raw_lookup_columns`), trimmed as landing trims keys; None for
    an entity whose files could not be read this way (its landing then reads the whole raw table).

    What a PostgreSQL import copies from the server into its scratch DuckDB is chosen by these: the
    earlier captures of the batch's keys, not the whole history. The same readers as the import, so
    the keys are the ones it lands; a file the fast readers refuse gets None, never a short list.
    """
    try:
        files, _, stopped = discover(Path(bundle_dir).resolve())
    except OSError:
        return {}  # no such folder: import_bundle says so and lands nothing
    tables: dict[str, str | None] = {}
    for entity, paths in files.items():
        if entity in stopped:
            continue
        ent = ENTITIES[entity]
        table = f"_bundle_keys_{entity}"
        stages: list[str] = []
        try:
            selects, params = [], []
            for p in paths:
                _, fmt, gz = split_name(p)
                if _is_empty(p, gz):
                    continue
                stage = f"_bundle_keys_stage_{len(stages)}"
                stages.append(stage)
                read = _select_file(con, ent, p, fmt or "", gz, stage)
                selects.append(f"({read.sql})")
                params += read.params
            source = " union all ".join(selects) or "select " + ", ".join(
                f"null::varchar as {_q(c)}" for c in raw_lookup_columns(ent)
            )
            con.execute(
                f"create or replace temp table {table} as {lookup_keys_select(ent, f'({source})')}", params
            )
            tables[entity] = table
        except (BundleFileError, duckdb.Error):
            tables[entity] = None
        finally:
            for stage in stages:
                for t in (stage, f"{stage}_rejects", f"{stage}_scans"):
                    con.execute(f"drop table if exists temp.{t}")
    return tables


def _import_entity(
    con: duckdb.DuckDBPyConnection,
    ent: Entity,
    paths: list[Path],
    bundle_dir: Path,
    config: Config,
    manifest: Manifest,
    report: ImportReport,
    *,
    fast: bool,
) -> LandResult | object | None:
    """Land one entity's files in one transaction: its LandResult, None after a whole-file error (in
    report.errors), or _RETRY when a fast read failed and the slow path should run."""
    reads: list[FileSelect] = []
    stages: list[str] = []
    try:
        for p in paths:
            _, fmt, gz = split_name(p)
            try:
                if _is_empty(p, gz):
                    if fast:  # noted once, not again on a retry
                        report.notes.append(f"{p}: empty file; nothing to land from it.")
                    continue
                stage = f"_import_lines_{len(stages)}"
                stages.append(stage)
                read = _select_file(con, ent, p, fmt or "", gz, stage, fast=fast)
            except BundleFileError as exc:
                report.errors.append(str(exc))
                return None
            except duckdb.Error as exc:
                report.errors.append(explain_read_error(p, exc))
                return None
            reads.append(read)
        if not reads:
            return LandResult(ent.name)
        selects = [r.sql for r in reads]
        # Every row counted and an unnumbered read of each file: the clean case is written straight
        # to raw (land_relation), reading every file on every core.
        counted = all(r.rows is not None and r.unnumbered is not None for r in reads)
        try:
            return land_relation(
                con,
                ent.name,
                " union all ".join(f"({s})" for s in selects),
                source=str(bundle_dir),
                batch_id=report.batch_id,
                params=[v for r in reads for v in r.params],
                timezone=config.community.timezone,
                release_fixed_sources=True,
                earliest=config.quality.earliest_timestamp,
                future_tolerance=dt.timedelta(minutes=config.quality.future_tolerance_minutes),
                numbers=manifest.numbers,
                expected_rows=sum(r.rows or 0 for r in reads) if counted else None,
                unnumbered_sql=" union all ".join(f"({r.unnumbered})" for r in reads) if counted else None,
                proven=frozenset.intersection(*(r.proven for r in reads)) if counted else frozenset(),
            )
        except duckdb.Error as exc:
            if fast and (
                any(_FAST_LN in s for s in selects) or any(split_name(p)[1] == "csv" for p in paths)
            ):
                return _RETRY
            where = paths[0] if len(paths) == 1 else bundle_dir / ent.name
            report.errors.append(explain_read_error(where, exc))
            return None
    finally:
        for stage in stages:
            for t in (stage, f"{stage}_rejects", f"{stage}_scans"):
                con.execute(f"drop table if exists temp.{t}")
