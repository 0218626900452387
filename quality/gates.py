"""The quality gates: Great Expectations suites on the new raw rows and on the marts, run once per pipeline run.

What a run does:
1. plans one suite per raw entity (new rows since the last check) and per mart that exists now
   (absent marts and columns are skipped with a note, see quality/suites.py);
2. validates each frame with GX Core (a file-backed project in `<warehouse dir>/gx/`);
3. writes one row per expectation to `tertulia.dq_results`, moves the raw watermarks and prunes old
   runs, in one transaction;
4. writes the quality page, readable offline, to `<warehouse dir>/quality-docs/index.html`, and GX's
   Data Docs beside it in `quality-docs/gx/`.

A failed mart suite puts the alert kinds reading that mart in `held_kinds`: the outbox holds them
back for the run, and `alerts.dq_rules` tells the data channel why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from quality import frames, results
from quality.page import render_quality_page
from quality.results import Result, short
from quality.suites import (
    MART_SPECS,
    Check,
    Suite,
    future_limit,
    mart_suite,
    raw_suite,
)
from tertulia.config import Config
from tertulia.contract import ENTITIES
from tertulia.vocabulary import KIND_NAMES, ordered_kinds

log = logging.getLogger(__name__)

GX_DIR = "gx"
NO_NEW_ROWS = "no new rows since the last check"
SKIPPED = "skipped: table absent"


def gx_root(config: Config) -> Path:
    """GX's project root: it keeps its project in `<root>/gx/`, i.e. beside the warehouse file."""
    return config.local_dir


def gx_docs_dir(config: Config) -> Path:
    return config.quality_page.parent / "gx"


@dataclass
class QualityReport:
    run_id: str
    run_at: dt.datetime
    results: list[Result] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # suites with at least one failed expectation
    held_kinds: set[str] = field(default_factory=set)
    # kind -> why it is held, e.g. "SLA alerts held: fct_sla_events failed 'business minutes non-negative'"
    held_reasons: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    docs_path: Path | None = None  # the quality page
    gx_docs_path: Path | None = None  # GX's Data Docs (styled from CDNs: plain text offline)

    @property
    def suites(self) -> list[str]:
        return sorted({r.suite for r in self.results})

    def render(self) -> str:
        checked = [r for r in self.results if r.success is not None]
        failed = sum(1 for r in checked if not r.success)
        held = ", ".join(KIND_NAMES.get(k, k) for k in ordered_kinds(self.held_kinds))
        lines = [
            f"Quality gates: {len(self.suites)} suites, {len(checked)} expectations checked, {failed} failed"
            + (
                f" ({', '.join(self.failed)}; held back: {held})."
                if held
                else f" ({', '.join(self.failed)})."
                if failed
                else "."
            )
        ]
        for suite in self.failed:
            bad = [r for r in self.results if r.suite == suite and r.success is False]
            lines.append(f"  FAILED {suite}: " + "; ".join(f"'{r.expectation}' ({r.observed})" for r in bad))
        lines += [f"  {reason}" for reason in self.held_reasons.values()]
        lines += [f"  note: {n}" for n in self.notes]
        if self.docs_path:
            lines.append(f"  Quality page: {self.docs_path}")
        return "\n".join(lines)


# --- planning -------------------------------------------------------------------------------------


@dataclass
class _Planned:
    suite: Suite
    frame: frames.Frame | None  # None: nothing to validate (see note)
    note: str = ""


def _plan(con: duckdb.DuckDBPyConnection, config: Config, now: dt.datetime) -> list[_Planned]:
    q = config.quality
    planned: list[_Planned] = []
    raw_cols = frames.table_columns(con, "raw")
    for entity in ENTITIES.values():
        cols = raw_cols.get(entity.name)
        suite = raw_suite(entity, set(cols or ()), now=now, tolerance_minutes=q.future_tolerance_minutes)
        if cols is None:
            planned.append(_Planned(suite, None, SKIPPED))
            continue
        since = results.watermark(con, suite.name)
        frame = frames.read_raw_new_rows(
            con, entity, set(cols), since=since, tz=config.community.timezone, max_rows=q.max_rows_per_suite
        )
        planned.append(_Planned(suite, frame, NO_NEW_ROWS if frame.rows_total == 0 else ""))
    mart_cols = frames.table_columns(con, "marts")
    for spec in MART_SPECS:
        cols = mart_cols.get(spec.name)
        if cols is None:
            suite = Suite(f"marts.{spec.name}", "marts", spec.name, [])
            planned.append(_Planned(suite, None, SKIPPED))
            continue
        suite = mart_suite(spec, cols, now=now, tolerance_minutes=q.future_tolerance_minutes)
        planned.append(
            _Planned(suite, frames.read_mart(con, spec.name, cols, suite.checks, q.max_rows_per_suite))
        )
    return planned


# --- GX -------------------------------------------------------------------------------------------


def _context(root: Path, docs: Path) -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", project_root_dir=str(root))
    bars = context.variables.progress_bars
    if bars is None or (bars.get("globally") if isinstance(bars, dict) else bars.globally) is not False:
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        context.variables.save()
    site = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    sites = context.get_config().data_docs_sites or {}
    if "tertulia" not in sites:
        context.add_data_docs_site("tertulia", site)
    elif sites["tertulia"]["store_backend"]["base_directory"] != str(docs):
        context.update_data_docs_site("tertulia", site)
    if "local_site" in sites:  # GX's default site, inside gx/uncommitted: one place for docs is enough
        context.delete_data_docs_site("local_site")
    return context


FUTURE_LIMIT = "future_limit"


def _portable(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The run's instant enters as a suite parameter, so a suite's definition is the same every run."""
    return {k: ({"$PARAMETER": FUTURE_LIMIT} if isinstance(v, dt.datetime) else v) for k, v in kwargs.items()}


def _expectation(check: Check, suite_name: str) -> Any:
    import great_expectations.expectations as gxe

    cls = getattr(gxe, check.expectation)
    return cls(**_portable(check.kwargs), meta={"label": check.label}, notes=f"{suite_name}: {check.label}")


def _checkpoint(context: Any, suite: Suite, checks: list[Check]) -> Any:
    """The suite's checkpoint, rewritten in the GX project only when the suite's checks changed.

    Rewriting suites, validation definitions and checkpoints every run costs GX seconds of
    serialisation; a fingerprint of the checks in the suite's meta tells whether it is needed.
    """
    import great_expectations as gx
    from great_expectations.exceptions import DataContextError

    spec = [(c.label, c.expectation, _portable(c.kwargs)) for c in checks]
    fingerprint = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]
    try:
        if context.suites.get(suite.name).meta.get("tertulia_fingerprint") == fingerprint:
            return context.checkpoints.get(suite.name)
    except (DataContextError, ValueError):  # not there yet, or saved by an older layout: write it again
        pass
    try:
        source = context.data_sources.get("tertulia")
    except KeyError:
        source = context.data_sources.add_pandas("tertulia")
    try:
        asset = source.get_asset(suite.name)
    except LookupError:
        asset = source.add_dataframe_asset(suite.name)
    try:
        batch = asset.get_batch_definition("rows checked")
    except KeyError:
        batch = asset.add_batch_definition_whole_dataframe("rows checked")
    # Expectations go in through the constructor: `add_expectation` on a suite the store already
    # holds rewrites the suite's JSON once per expectation.
    gx_suite = gx.ExpectationSuite(
        name=suite.name,
        expectations=[_expectation(c, suite.name) for c in checks],
        meta={"tertulia_fingerprint": fingerprint},
    )
    gx_suite = context.suites.add_or_update(gx_suite)
    vd = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite)
    )
    return context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=suite.name,
            validation_definitions=[vd],
            actions=[],
            result_format={"result_format": "BASIC", "partial_unexpected_count": results.MAX_EXAMPLES},
        )
    )


def _validate(
    context: Any, suite: Suite, df: Any, run_id: Any, limit: dt.datetime
) -> tuple[list[Result], Any]:
    by_label: dict[str, Check] = {}
    for check in suite.checks:
        by_label.setdefault(check.label, check)
    checkpoint = _checkpoint(context, suite, list(by_label.values()))
    outcome = checkpoint.run(
        batch_parameters={"dataframe": df}, expectation_parameters={FUTURE_LIMIT: limit}, run_id=run_id
    )
    out: list[Result] = []
    ids = []
    for identifier, validation in outcome.run_results.items():
        ids.append(identifier)
        for r in validation.results:
            label = (r.expectation_config.meta or {}).get("label", r.expectation_config.type)
            out.append(_to_result(suite.name, label, by_label.get(label), r))
    return out, ids


def _to_result(suite: str, label: str, check: Check | None, r: Any) -> Result:
    info = r.exception_info if isinstance(r.exception_info, dict) else {}
    res = dict(r.result or {})
    details: dict[str, Any] = {"expectation_type": r.expectation_config.type}
    column = check.column if check else None
    if info.get("raised_exception"):
        msg = str(info.get("exception_message") or "unknown error")
        return Result(
            suite, label, column, False, f"check could not run: {short(msg)}", {**details, "error": msg[:500]}
        )
    if r.expectation_config.type == "expect_column_to_exist":
        observed = "present" if r.success else "column absent from the table"
    elif "observed_value" in res:
        observed = f"observed {short(res['observed_value'])}"
        details["observed_value"] = short(res["observed_value"])
    elif "unexpected_count" in res:
        n, total = res.get("unexpected_count") or 0, res.get("element_count") or 0
        observed = f"{n} of {total} rows" if n else f"{total} rows ok"
        examples = [
            _example(v, check) for v in (res.get("partial_unexpected_list") or [])[: results.MAX_EXAMPLES]
        ]
        if r.expectation_config.type == "expect_column_values_to_not_be_null":
            examples = []
        if n and examples:
            observed += ", e.g. " + ", ".join(examples)
        details.update(unexpected_count=n, element_count=total, examples=examples)
    else:
        observed = "ok" if r.success else "failed"
    return Result(suite, label, column, bool(r.success), observed, details)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _example(value: Any, check: Check | None) -> str:
    """One offending value as a person reads it: `reach 40 > impressions 10`, `platform=x, id=y`."""
    if isinstance(value, tuple) and check and check.expectation == "ExpectColumnPairValuesAToBeGreaterThanB":
        big, small = (_plain(v) for v in value)  # GX gives (column_A, column_B) = (big, small)
        return f"{check.kwargs['column_B']} {short(small)} > {check.kwargs['column_A']} {short(big)}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={short(_plain(v))}" for k, v in value.items())
    if isinstance(value, tuple):
        return "(" + ", ".join(short(_plain(v)) for v in value) + ")"
    return short(_plain(value))


def _prune_gx_history(root: Path, docs: Path, keep_runs: int) -> None:
    """Keep the validation results (and their HTML pages) of the last `keep_runs` runs only.

    Run names start with a sortable timestamp, so the newest runs are the largest names.
    """
    stores = [root / GX_DIR / "uncommitted" / "validations", docs / "validations"]
    run_dirs: dict[str, list[Path]] = {}
    for store in stores:
        if not store.is_dir():
            continue
        for p in store.glob("*/*/*"):
            if p.is_dir() and p.name.startswith("tq-"):
                run_dirs.setdefault(p.name, []).append(p)
    for name in sorted(run_dirs)[:-keep_runs]:
        for p in run_dirs[name]:
            shutil.rmtree(p, ignore_errors=True)


# --- the gate -------------------------------------------------------------------------------------


def run_quality_gates(con: duckdb.DuckDBPyConnection, config: Config, *, now: dt.datetime) -> QualityReport:
    """Validate new raw rows and the marts; store results; render Data Docs; say what to hold back."""
    from great_expectations.core.run_identifier import RunIdentifier

    results.ensure_tables(con)
    checked_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run_name = f"tq-{checked_at:%Y%m%dT%H%M%S%f}"
    report = QualityReport(run_id=run_name, run_at=now)
    root, docs = gx_root(config), gx_docs_dir(config)
    planned = _plan(con, config, now)
    try:
        context = _context(root, docs)
    except Exception as exc:  # a GX project left unreadable (e.g. a run killed while GX wrote it)
        broken = root / f"{GX_DIR}.unreadable-{run_name}"
        log.warning("GX project %s unreadable (%s); moved to %s and rebuilt", root / GX_DIR, exc, broken)
        (root / GX_DIR).rename(broken)
        report.notes.append(f"GX project was unreadable ({short(exc)}); moved to {broken} and rebuilt")
        context = _context(root, docs)
    gx_run = RunIdentifier(run_name=run_name, run_time=checked_at.replace(tzinfo=dt.UTC))
    limit = future_limit(now, config.quality.future_tolerance_minutes)
    docs_ids: list[Any] = []
    watermarks: list[tuple[str, dt.datetime]] = []
    for item in planned:
        suite, frame = item.suite, item.frame
        if item.note:
            report.results.append(Result(suite.name, item.note, None, None, item.note, {}))
            if item.note == SKIPPED:
                report.notes.append(f"{suite.name}: {SKIPPED}")
            continue
        assert frame is not None
        for note in suite.notes:
            report.notes.append(f"{suite.name}: {note}")
        try:
            suite_results, ids = _validate(context, suite, frame.df, gx_run, limit)
            docs_ids += ids
        except Exception as exc:  # a gate that cannot run must not pass silently
            log.exception("quality suite %s could not run", suite.name)
            suite_results = [Result(suite.name, "suite ran", None, False, f"could not run: {short(exc)}",
                                    {"error": str(exc)[:500]})]  # fmt: skip
        scope = {"rows_checked": len(frame.df), "rows_total": frame.rows_total, "sampled": frame.sampled}
        for r in suite_results:
            report.results.append(
                Result(r.suite, r.expectation, r.column, r.success, r.observed, {**r.details, **scope})
            )
        if frame.through is not None:
            watermarks.append((suite.name, frame.through))
        bad = [r for r in suite_results if r.success is False]
        if bad:
            report.failed.append(suite.name)
            for kind in ordered_kinds(suite.holds):
                why = f"{suite.table} failed " + ", ".join(f"'{r.expectation}'" for r in bad[:3])
                if kind in report.held_reasons:
                    report.held_reasons[kind] += f"; {why}"
                else:
                    report.held_reasons[kind] = f"{KIND_NAMES.get(kind, kind)} held: {why}"
                report.held_kinds.add(kind)

    con.execute("begin")
    try:
        results.write_results(con, run_name, now, checked_at, report.results)
        for suite_name, through in watermarks:
            results.set_watermark(con, suite_name, through, checked_at)
        results.prune_results(con, config.quality.keep_runs)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise

    _prune_gx_history(root, docs, config.quality.keep_runs)
    try:
        report.docs_path = render_quality_page(con, config.quality_page, config.tz)
    except Exception as exc:  # the page is a view of results already stored: a failure here is a note
        log.exception("quality page could not be written")
        report.notes.append(f"Quality page not updated: {short(exc)}")
    try:
        urls = context.build_data_docs(site_names=["tertulia"], resource_identifiers=docs_ids or None)
        report.gx_docs_path = docs / "index.html" if urls else None
    except Exception as exc:
        log.exception("Data Docs could not be built")
        report.notes.append(f"Data Docs not updated: {short(exc)}")
    return report
