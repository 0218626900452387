"""The data-quality figures of docs/quality.md: bad inputs, nothing lost, no duplicates, crash safety.

    .venv/bin/python bench/quality_report.py [--trials 10] [--seed 7] [--no-write]
    (or `make quality-report`)

1. Every case of the bad-input corpus (tests/connectors/corpus/cases.yml) is imported through the real
   importer (`connectors.files.import_bundle`) into a fresh warehouse, then imported again.
   - Rows in files are counted here, independently of the importer (csv module, JSON lines, Parquet).
   - A row is accounted for when its key is in raw (landed, or merged into a newer version of the same
     key: a deliberate duplicate), or its file and line are in `tertulia.quarantine`, or its whole
     file was refused with an error naming the file. Anything else is lost.
   - Duplicates after the rerun: raw rows added by the second import, plus open quarantine rows held
     twice for the same file, line and rule.
2. N crash-and-rerun trials: an import of a generated bundle (tertulia.sample) runs in a subprocess and
   is killed with SIGKILL at a random moment; the import is run again; the warehouse must then hold
   exactly what a clean import holds (rows per table, keys, quarantine) with no duplicate key.

The table is written to docs/quality.md between the markers below. Exit code 1 when a row is lost, a
duplicate appears or a crash trial does not recover.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import duckdb  # noqa: E402
import yaml  # noqa: E402

from connectors.files import ignored  # noqa: E402  (the importer's own rule: a manifest, a README)
from tertulia.config import Config, load_config  # noqa: E402
from tertulia.contract import ENTITIES  # noqa: E402

CORPUS = REPO / "tests" / "connectors" / "corpus"
DOC = REPO / "docs" / "quality.md"
WORK = REPO / "bench" / "work" / "quality"
START, END = "<!-- quality-figures:start -->", "<!-- quality-figures:end -->"

# The child process of a crash trial: one import, as `tertulia import` runs it (writer lock held).
CHILD = """
import sys
from pathlib import Path
from tertulia import pipeline, warehouse
from tertulia.config import load_config
config = load_config(sys.argv[1])
print("ready", flush=True)  # imports done: the parent's kill timer starts now
with warehouse.writer_lock(config.warehouse_path):
    pipeline.prepare_warehouse(config)
    pipeline.import_files(config, Path(sys.argv[2]))
"""


# --- counting rows in files, independently of the importer -----------------------------------------


@dataclass
class FileRow:
    file: str  # file name
    line: int  # 1-based record number (CSV: header excluded)
    key: tuple[str, ...] | None  # None: the record cannot be read


def _entity_of(path: Path) -> str | None:
    from connectors.files import split_name

    name = path.parent.name if path.parent.name in ENTITIES else split_name(path)[0]
    return name if name in ENTITIES else None


def _open_text(path: Path) -> io.TextIOBase:
    raw = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")  # noqa: SIM115
    # A UTF-16 file (refused by the importer) still has its records counted.
    encoding = "utf-16" if raw.peek(2)[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    return io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")


def _minus(total: int | None, less: int) -> int | None:
    return None if total is None else total - less


def file_rows(path: Path) -> list[FileRow]:
    """The records of one bundle file, with their key where it can be read."""
    entity = _entity_of(path)
    key_cols = ENTITIES[entity].key if entity else ()
    name = path.name.lower().removesuffix(".gz")
    out: list[FileRow] = []
    if name.endswith(".parquet"):
        con = duckdb.connect()
        try:
            cols = [r[0] for r in con.execute("select name from parquet_schema(?)", [str(path)]).fetchall()]
            if all(k in cols for k in key_cols) and key_cols:
                select = ", ".join(f'cast("{k}" as varchar)' for k in key_cols)
                rows = con.execute(f"select {select} from read_parquet(?)", [str(path)]).fetchall()  # noqa: S608
                return [FileRow(path.name, i, tuple(r)) for i, r in enumerate(rows, 1)]
            n = con.execute("select count(*) from read_parquet(?)", [str(path)]).fetchone()[0]
            return [FileRow(path.name, i, None) for i in range(1, n + 1)]
        except duckdb.Error:
            return []
        finally:
            con.close()
    with _open_text(path) as fh:
        text = fh.read()
    if name.endswith(".csv"):
        reader = csv.reader(io.StringIO(text.replace("\0", "")))
        header = [h.strip().lower() for h in next(reader, [])]
        idx = [header.index(k) if k in header else None for k in key_cols]
        # A blank line is no record (DuckDB's reader skips it too); a line of empty cells is one.
        for i, row in enumerate((r for r in reader if r), 1):
            key = None
            if key_cols and None not in idx and all(j < len(row) for j in idx):  # type: ignore[operator]
                key = tuple(row[j].strip() for j in idx)  # type: ignore[index]
                key = key if all(key) else None
            out.append(FileRow(path.name, i, key))
        return out
    lines = text.splitlines()
    if name.endswith(".json") and text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except ValueError:
            return [FileRow(path.name, 1, None)]
        return [FileRow(path.name, i, _json_key(r, key_cols)) for i, r in enumerate(records, 1)]
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        out.append(FileRow(path.name, i, _json_key(record, key_cols)))
    return out


def _json_key(record: object, key_cols: tuple[str, ...]) -> tuple[str, ...] | None:
    if not isinstance(record, dict) or not key_cols or any(record.get(k) is None for k in key_cols):
        return None
    return tuple(str(record[k]).strip() for k in key_cols)


# --- one corpus case -------------------------------------------------------------------------------


@dataclass
class CaseOutcome:
    name: str
    rows_in_files: int = 0
    landed: int = 0
    quarantined: int = 0
    refused: int = 0  # rows of files refused whole, with an error naming the file
    merged: int = 0  # rows whose key landed through another copy (deliberate duplicates)
    lost: int = 0
    duplicates_after_rerun: int = 0
    matches_manifest: bool = True
    mismatch: list[str] = field(default_factory=list)
    lost_examples: list[str] = field(default_factory=list)


def _config(warehouse: Path) -> Config:
    os.environ["TERTULIA_WAREHOUSE"] = str(warehouse)
    return load_config(REPO / "community.example.yml")


def _raw_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {e: con.execute(f"select count(*) from raw.{e}").fetchone()[0] for e in ENTITIES}  # noqa: S608


def _open_quarantine(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("select count(*) from tertulia.quarantine where released_at is null").fetchone()[0]


def _quarantine_duplicates(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(
        """
        select coalesce(sum(n - 1), 0) from (
            select count(*) as n from tertulia.quarantine where released_at is null
            group by entity, source, source_line, rule having count(*) > 1
        )
        """
    ).fetchone()[0]


def _raw_duplicate_keys(con: duckdb.DuckDBPyConnection) -> int:
    total = 0
    for e in ENTITIES.values():
        key = ", ".join(f'"{k}"' for k in e.key)
        total += con.execute(
            f"select coalesce(sum(n - 1), 0) from (select count(*) n from raw.{e.name} group by {key} having n > 1)"  # noqa: S608
        ).fetchone()[0]
    return total


def _case_files(case: dict, corpus: Path) -> list[Path]:
    """Files are named relative to the case's folder (corpus/<name>/) when it exists, else to the corpus."""
    base = corpus / case["name"] if (corpus / case["name"]).is_dir() else corpus
    files = case.get("files") or []
    return [(base / f) if (base / f).exists() else (corpus / f) for f in files]


def run_case(case: dict, corpus: Path, work: Path) -> CaseOutcome:
    from connectors.files import import_bundle
    from connectors.landing import ensure_quarantine
    from tertulia import warehouse

    out = CaseOutcome(case["name"])
    entity = case.get("entity")
    case_dir = work / "cases" / case["name"]
    shutil.rmtree(case_dir, ignore_errors=True)
    bundle = case_dir / "bundle"
    bundle.mkdir(parents=True)
    for f in _case_files(case, corpus):
        target = bundle / f.relative_to(f.parent.parent) if f.parent.name in ENTITIES else bundle / f.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)
    config = _config(case_dir / "warehouse.duckdb")
    con = warehouse.connect(config.warehouse_path)
    try:
        ensure_quarantine(con)
        report = import_bundle(con, bundle, config)
        raw_before = _raw_counts(con)
        out.landed, out.quarantined = sum(raw_before.values()), _open_quarantine(con)
        entity_quarantine = con.execute(
            "select rule, reason from tertulia.quarantine where released_at is null and entity = ?", [entity]
        ).fetchall()
        quarantined_at = {
            (Path(s).name, int(n)) for s, n in con.execute(
                "select source, source_line from tertulia.quarantine where source_line is not null"
            ).fetchall()
        }  # fmt: skip
        seen: dict[str, set[tuple[str, ...]]] = {}  # keys met so far per entity, across its files
        entity_rows = entity_refused = 0
        for path in sorted(p for p in bundle.rglob("*") if p.is_file() and not ignored(p)):
            of = _entity_of(path)
            rows = file_rows(path)
            out.rows_in_files += len(rows)
            refused = of is None or any(str(path) in e or path.name in e for e in report.errors)
            if of == entity:
                entity_rows += len(rows)
                entity_refused += len(rows) if refused else 0
            keys: set[tuple[str, ...]] = set()
            if of and not refused:
                key = ", ".join(f'trim("{k}")' for k in ENTITIES[of].key)
                keys = {tuple(r) for r in con.execute(f"select {key} from raw.{of}").fetchall()}  # noqa: S608
            met = seen.setdefault(of or "", set())
            for row in rows:
                if refused:
                    out.refused += 1
                elif (path.name, row.line) in quarantined_at:
                    pass
                elif row.key is not None and row.key in keys:
                    if row.key in met:
                        out.merged += 1
                    met.add(row.key)
                else:
                    out.lost += 1
                    if len(out.lost_examples) < 3:
                        out.lost_examples.append(f"{path.name}:{row.line} key={row.key}")
        import_bundle(con, bundle, config)
        raw_after = _raw_counts(con)
        out.duplicates_after_rerun = (
            sum(max(0, raw_after[e] - raw_before[e]) for e in ENTITIES)
            + _quarantine_duplicates(con)
            + _raw_duplicate_keys(con)
        )
    finally:
        con.close()
    # The manifest's expectations concern the case's entity; compare them with what happened.
    expect = case.get("expect") or {}
    checks = [
        # A CSV parser, as this count, reads the rows an unclosed quote took in as part of that row.
        ("rows in files", _minus(case.get("rows_in_files"), expect.get("held_inside", 0)), entity_rows),
        ("landed", expect.get("landed"), raw_before.get(entity, 0)),
        ("quarantined", expect.get("quarantined"), len(entity_quarantine)),
        ("refused rows", expect.get("refused_rows", 0), entity_refused),
    ]
    for label, want, got in checks:
        if want is not None and want != got:
            out.mismatch.append(f"{label} {got} (manifest: {want})")
    texts = {
        "error_contains": "\n".join(report.errors),
        "note_contains": "\n".join(report.notes),
        "quarantine_reason_contains": "\n".join(reason for _, reason in entity_quarantine),
    }
    for label, haystack in texts.items():
        wanted = expect.get(label)
        for text in [wanted] if isinstance(wanted, str) else (wanted or []):
            if text.lower() not in haystack.lower():
                out.mismatch.append(f"{label} {text!r} not found")
    rule = expect.get("quarantine_rule")
    if rule and any(r != rule for r, _ in entity_quarantine):
        out.mismatch.append(
            f"quarantine rules {sorted({r for r, _ in entity_quarantine})} (manifest: {rule})"
        )
    out.matches_manifest = not out.mismatch
    return out


# --- crash and rerun -------------------------------------------------------------------------------


@dataclass
class Trial:
    kill_after: float
    killed_midway: bool
    survived: bool
    problem: str = ""
    # Tables the kill left neither as before the import nor as after it (a torn write): must be none.
    torn: list[str] = field(default_factory=list)
    done_at_kill: int = 0  # tables already holding the import's result when the kill came


def _snapshot(db: Path) -> dict[str, object]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        snap: dict[str, object] = {}
        for e in ENTITIES.values():
            key = " || '|' || ".join(f"coalesce(\"{k}\", '')" for k in e.key)
            snap[e.name] = con.execute(
                f"select count(*), count(distinct {key}), coalesce(sum(hash({key})), 0) from raw.{e.name}"  # noqa: S608
            ).fetchone()
        snap["quarantine"] = con.execute(
            "select count(*), count(distinct (entity, source, source_line, rule)) from tertulia.quarantine "
            "where released_at is null"
        ).fetchone()
        return snap
    finally:
        con.close()


def _child(db: Path, bundle: Path) -> subprocess.Popen:
    env = {**os.environ, "TERTULIA_WAREHOUSE": str(db), "GX_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(REPO / "community.example.yml"), str(bundle)],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_ready(proc: subprocess.Popen) -> None:
    assert proc.stdout is not None
    proc.stdout.readline()  # "ready" (or EOF if the child died early; the exit code tells)


def _import_to_end(db: Path, bundle: Path) -> float:
    """Import in a child process; seconds from its start of work (after Python's imports) to its exit."""
    proc = _child(db, bundle)
    _wait_ready(proc)
    started = time.monotonic()
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"import of {bundle} into {db} failed:\n{err.decode(errors='replace')[-2000:]}")
    return time.monotonic() - started


def _bundle(work: Path, days: int, seed: int) -> Path:
    bundle = work / "crash-bundle"
    shutil.rmtree(bundle, ignore_errors=True)
    from tertulia.sample import write_sample

    write_sample(bundle, days=days, seed=seed)
    return bundle


def run_crash_trials(work: Path, trials: int, seed: int, days: int) -> tuple[list[Trial], float]:
    rng = random.Random(seed)
    bundle = _bundle(work, days, seed)
    clean_db = work / "crash-clean" / "warehouse.duckdb"
    shutil.rmtree(clean_db.parent, ignore_errors=True)
    clean_seconds = _import_to_end(clean_db, bundle)
    clean = _snapshot(clean_db)
    out: list[Trial] = []
    for i in range(trials):
        db = work / f"crash-{i}" / "warehouse.duckdb"
        shutil.rmtree(db.parent, ignore_errors=True)
        db.parent.mkdir(parents=True)
        before: dict[str, object] | None = None
        if i % 2:
            # Half the trials crash a second import on a warehouse that already holds the bundle.
            _import_to_end(db, bundle)
            before = _snapshot(db)
        # Uniform over the import's own duration (from after Python's start-up), so most kills land mid-import.
        kill_after = rng.uniform(0.02, 1.0) * clean_seconds
        proc = _child(db, bundle)
        _wait_ready(proc)
        time.sleep(kill_after)
        midway = proc.poll() is None
        if midway:
            proc.send_signal(signal.SIGKILL)
        proc.communicate()
        torn: list[str] = []
        done = 0
        if db.exists():
            empty = {k: (0, 0, 0) if k != "quarantine" else (0, 0) for k in clean}
            try:
                at_kill = _snapshot(db)
            except duckdb.CatalogException:  # killed before the raw tables were created
                at_kill = empty
            torn = [k for k in clean if at_kill.get(k) not in (clean[k], (before or empty)[k])]
            if before is None:  # on a fresh warehouse, a table equal to the clean import was finished
                done = sum(1 for k in clean if at_kill.get(k) == clean[k] and clean[k] != empty[k])
        try:
            _import_to_end(db, bundle)
            after = _snapshot(db)
        except Exception as exc:  # noqa: BLE001 - a trial that cannot recover is the finding
            out.append(
                Trial(kill_after, midway, False, f"rerun failed: {str(exc).splitlines()[0]}", torn, done)
            )
            continue
        diff = [k for k in clean if clean[k] != after[k]]
        problem = "; ".join(f"{k}: clean {clean[k]} vs after crash {after[k]}" for k in diff)
        out.append(Trial(kill_after, midway, not diff, problem, torn, done))
    return out, clean_seconds


def _trial_text(i: int, t: Trial) -> str:
    if not t.killed_midway:
        state = "the import had finished before the kill"
    elif i % 2:
        state = "killed during a second import of the same bundle"
    else:
        state = f"killed mid-import on a fresh warehouse, {t.done_at_kill} of {len(ENTITIES)} tables already landed"
    torn = f"; half-written at the kill: {', '.join(t.torn)}" if t.torn else ""
    return f"SIGKILL after {t.kill_after:.2f} s ({state}): {'survived' if t.survived else t.problem}{torn}"


# --- the report ------------------------------------------------------------------------------------


def render(
    cases: list[CaseOutcome], trials: list[Trial], clean_seconds: float, args: argparse.Namespace
) -> str:
    rows_in = sum(c.rows_in_files for c in cases)
    survived = sum(t.survived for t in trials)
    midway = sum(t.killed_midway for t in trials)
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Produced by `make quality-report` (`bench/quality_report.py --trials {args.trials} --seed {args.seed}`) "
        f"on {today}.",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| bad inputs tried (corpus cases) | {len(cases)} |",
        f"| rows in the corpus files | {rows_in} |",
        f"| rows landed | {sum(c.landed for c in cases)} |",
        f"| rows quarantined | {sum(c.quarantined for c in cases)} |",
        f"| rows merged into another copy of the same key (deliberate duplicates) | {sum(c.merged for c in cases)} |",
        f"| rows in files refused whole, with a message naming the file | {sum(c.refused for c in cases)} |",
        f"| **rows lost** (must be 0) | **{sum(c.lost for c in cases)}** |",
        f"| **duplicates after reruns** (must be 0) | **{sum(c.duplicates_after_rerun for c in cases)}** |",
        f"| cases matching the manifest's expected rows and messages | "
        f"{sum(c.matches_manifest for c in cases)} of {len(cases)} |",
        f"| **crash-and-rerun trials survived** | **{survived} of {len(trials)}** "
        f"({midway} killed mid-import, {len(trials) - midway} after it had finished) |",
        f"| tables left half-written by a kill (must be 0) | {sum(len(t.torn) for t in trials)} |",
        "",
        f"Crash trials import a generated bundle (`tertulia.sample`, {args.days} days, seed {args.seed}; a clean "
        f"import took {clean_seconds:.1f} s after the interpreter started), SIGKILL the importing process after a "
        "random delay, import again and compare rows, keys and quarantine with the clean import.",
        "",
        "<details><summary>Per case</summary>",
        "",
        "| case | rows in files | landed | quarantined | merged | refused | lost | duplicates after rerun | manifest |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in cases:
        verdict = "ok" if c.matches_manifest else "differs: " + "; ".join(c.mismatch)
        lines.append(
            f"| {c.name} | {c.rows_in_files} | {c.landed} | {c.quarantined} | {c.merged} | {c.refused} | "
            f"{c.lost} | {c.duplicates_after_rerun} | {verdict.replace('|', '/')} |"
        )
    lines += ["", "</details>", "", "<details><summary>Per crash trial</summary>", ""]
    lines += [f"- trial {i}: {_trial_text(i, t)}" for i, t in enumerate(trials)]
    lines += ["", "</details>"]
    lost = [f"{c.name}: {', '.join(c.lost_examples)}" for c in cases if c.lost_examples]
    failed = [f"trial {i}: {t.problem}" for i, t in enumerate(trials) if not t.survived]
    if lost or failed:
        lines += ["", "Problems found:"] + [f"- lost {x}" for x in lost] + [f"- {x}" for x in failed]
    return "\n".join(lines)


def write_doc(doc: Path, table: str) -> None:
    text = doc.read_text(encoding="utf-8") if doc.exists() else f"# Data quality\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        text = text.rstrip() + f"\n\n## Figures\n\n{START}\n{END}\n"
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    doc.write_text(f"{head}{START}\n{table}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=CORPUS / "cases.yml", help="manifest of the bad-input corpus"
    )
    parser.add_argument("--trials", type=int, default=10, help="crash-and-rerun trials")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=30, help="days of the generated bundle for crash trials")
    parser.add_argument("--work", type=Path, default=WORK, help="scratch folder (removed and recreated)")
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--no-write", action="store_true", help="print the figures without editing the doc")
    args = parser.parse_args(argv)
    for var in ("DBT_SEND_ANONYMOUS_USAGE_STATS", "DO_NOT_TRACK", "GX_ANALYTICS_ENABLED"):
        os.environ.setdefault(var, "false" if var != "DO_NOT_TRACK" else "1")

    if not args.corpus.is_file():
        print(f"{args.corpus}: no corpus manifest; the bad-input corpus lives in tests/connectors/corpus/.")
        return 2
    manifest = yaml.safe_load(args.corpus.read_text(encoding="utf-8"))
    cases_in = manifest["cases"] if isinstance(manifest, dict) else manifest
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    outcomes = []
    for case in cases_in:
        outcome = run_case(case, args.corpus.parent, args.work)
        flag = (
            ""
            if outcome.matches_manifest
            else "  (differs from manifest: " + "; ".join(outcome.mismatch) + ")"
        )
        print(f"case {outcome.name}: {outcome.landed} landed, {outcome.quarantined} quarantined, "
              f"{outcome.lost} lost, {outcome.duplicates_after_rerun} duplicates after rerun{flag}")  # fmt: skip
        outcomes.append(outcome)
    os.environ.pop("TERTULIA_WAREHOUSE", None)
    trials, clean_seconds = run_crash_trials(args.work, args.trials, args.seed, args.days)
    for i, t in enumerate(trials):
        print(f"trial {i}: {_trial_text(i, t)}")
    table = render(outcomes, trials, clean_seconds, args)
    print()
    print(table)
    if not args.no_write:
        write_doc(args.doc, table)
        print(f"\nwritten to {args.doc}")
    bad = (
        sum(c.lost for c in outcomes)
        or sum(c.duplicates_after_rerun for c in outcomes)
        or any(not t.survived or t.torn for t in trials)
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
