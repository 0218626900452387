"""Run dbt on the configured warehouse, in-process.

dbt's target and log folders live beside the warehouse file, not in the project, so two warehouses
(a test's and the demo's) never share partial-parse state or logs.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from tertulia import resources
from tertulia.config import Config

PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"

log = logging.getLogger("tertulia.dbt_runner")

# How DuckDB words the error of a statement that did not fit its memory limit (an OutOfMemoryException:
# "Out of Memory Error: failed to pin block of size 256.0 KiB (2.8 GiB/2.8 GiB used)"), as dbt relays it.
OUT_OF_MEMORY = "out of memory error"


class DbtError(RuntimeError):
    """dbt failed; the message lists the failing nodes and what they said."""


@dataclass
class NodeResult:
    name: str
    resource_type: str
    status: str
    message: str = ""
    rows: int | None = None


@dataclass
class DbtResult:
    success: bool
    nodes: list[NodeResult] = field(default_factory=list)
    # models that ran out of memory beside others and were run again alone (build(): see there)
    retried_alone: list[str] = field(default_factory=list)
    # what the run says about that retry, for its summary and log ("" when there was none)
    notice: str = ""

    @property
    def failures(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.status in ("error", "fail", "runtime error")]

    @property
    def models_built(self) -> list[str]:
        return [n.name for n in self.nodes if n.resource_type == "model" and n.status == "success"]


def as_of_text(as_of: dt.datetime | None) -> str:
    """A pinned evaluation instant as the naive UTC text the `as_of()` macro reads ('' for now)."""
    if as_of is None:
        return ""
    if as_of.tzinfo is not None:
        as_of = as_of.astimezone(dt.UTC).replace(tzinfo=None)
    return as_of.isoformat(sep=" ")


def dbt_vars(config: Config) -> dict[str, object]:
    """The project's vars from community.yml. Constant between runs of one configuration, so dbt's
    partial parsing holds; the evaluation instant goes through TERTULIA_AS_OF instead (run_dbt)."""
    v: dict[str, object] = {
        "community_timezone": config.community.timezone,
        "at_risk_share": config.sla.at_risk_share,
        "lookback_hours": config.warehouse.lookback_hours,
        "reload_margin_minutes": config.warehouse.reload_margin_minutes,
        "calendar_tolerance_minutes": config.calendar.on_time_tolerance_minutes,
        # Crisis thresholds (keywords are matched at enrichment, not in SQL).
        "crisis": config.crisis.model_dump(exclude={"keywords"}),
        "trends": config.trends.model_dump(exclude={"alert"}),
    }
    return v


def _release_duckdb() -> None:
    """Close the DuckDB instance dbt-duckdb kept open for the invocation.

    profiles.yml sets `keep_open: true` so one instance serves every model of a run: with `false`, each
    model closed the file, and each close checkpointed it (5 of 13 s of a watch's SQL at 10M
    comments). The file must still be free when the invocation ends, for the pipeline's next step and
    for other processes, so it is closed here. dbt-duckdb has no public call for this; if its internals
    change, the file stays open until this process exits, and the pipeline's own connection in the same
    process still works (same file, same settings), so nothing breaks but the release."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    lock = getattr(DuckDBConnectionManager, "_LOCK", None)
    if lock is None:
        return
    with lock:
        env = getattr(DuckDBConnectionManager, "_ENV", None)
        if env is not None:
            env.close()
            DuckDBConnectionManager._ENV = None


def _invoke(full: list[str]):
    """dbt's own entry point, in-process: the one place run_dbt hands the command line to dbt."""
    from dbt.cli.main import dbtRunner  # dbt takes ~2 s to import: only when a build runs

    return dbtRunner().invoke(full)


def run_dbt(
    config: Config, args: list[str], *, as_of: dt.datetime | None = None, threads: int | None = None
) -> DbtResult:
    """Invoke dbt with `args` (e.g. ["build", "--select", "marts"]) against the configured warehouse.
    `threads`: dbt's nodes at a time and DuckDB's threads for this run (default: the machine's)."""

    wh = config.warehouse_location
    work = config.dbt_work_dir
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # dbt's progress lines go to its log file (below); the console gets errors only, so a run's own
    # summary stays readable.
    full = [
        "--quiet",
        "--no-use-colors",
        *args,
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
        "--vars",
        json.dumps(dbt_vars(config)),
    ]
    # profiles.yml reads the path from the environment, and the as_of() macro the pinned instant; set
    # both for this call only, or every Config built later in the process would resolve to this
    # warehouse (Config.warehouse_path honours the variable).
    scoped = {"TERTULIA_AS_OF": as_of_text(as_of)}
    if isinstance(wh, Path):
        scoped["TERTULIA_WAREHOUSE"] = str(wh)
    else:
        # profiles.yml's `postgres` target reads libpq's variables: the URL's parts, the environment's
        # own values for what it leaves out (the password, usually).
        scoped.update(wh.libpq_env())
        if "--target" not in args:
            full += ["--target", "postgres"]
    # profiles.yml reads DuckDB's memory limit and threads from these variables: unset, the machine's
    # defaults (tertulia.resources, the rule the pipeline's own connections follow), not DuckDB's 80 %
    # of memory.
    settings = resources.duckdb_settings()
    scoped[resources.MEMORY_ENV] = settings["memory_limit"]
    scoped[resources.THREADS_ENV] = settings["threads"] if threads is None else str(threads)
    if threads is not None:
        full += ["--threads", str(threads)]
    previous = {name: os.environ.get(name) for name in scoped}
    os.environ.update(scoped)
    try:
        res = _invoke(full)
    finally:
        _release_duckdb()
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    nodes: list[NodeResult] = []
    result = res.result
    failing_sql: dict[int, str] = {}
    for r in getattr(result, "results", None) or []:
        node = getattr(r, "node", None)
        adapter = getattr(r, "adapter_response", None) or {}
        status = str(getattr(r, "status", ""))
        resource_type = str(getattr(node, "resource_type", ""))
        if resource_type == "test" and status == "fail" and getattr(node, "compiled_code", None):
            failing_sql[len(nodes)] = node.compiled_code
        nodes.append(
            NodeResult(
                name=getattr(node, "name", "?"),
                resource_type=resource_type,
                status=status,
                message=str(getattr(r, "message", "") or ""),
                rows=adapter.get("rows_affected") if isinstance(adapter, dict) else None,
            )
        )
    for i, sql in failing_sql.items():
        nodes[i].message += f"; {_first_failing_rows(config, sql)}"
    out = DbtResult(success=bool(res.success), nodes=nodes)
    if not res.success and res.exception is not None and not nodes:
        raise DbtError(f"dbt {' '.join(args)} could not run: {res.exception}")
    return out


def _first_failing_rows(config: Config, sql: str, limit: int = 5) -> str:
    """The first rows (by their first column) a failing data test returned, as text: dbt's message only counts them ("Got 2
    results"), and a test that checks several columns at once (`not_null_columns`) says in its rows
    which column failed. The test's query runs once more, on failure only. Showing them must never hide
    the failure itself, so an error reading them is reported in their place."""
    from tertulia import warehouse

    try:
        con = warehouse.connect(config.warehouse_location, read_only=True)
        try:
            # `order by 1`: with a bare `limit`, DuckDB 2.0 returned every row of a not_null_columns
            # query (a one-row aggregate cross joined with a values list); a top-N keeps the limit.
            cur = con.execute(f"select * from ({sql}) as failing order by 1 limit {int(limit)}")  # noqa: S608
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        finally:
            con.close()
    except Exception as exc:  # noqa: BLE001 - a diagnostic; the test's failure is reported regardless
        return f"failing rows not shown ({type(exc).__name__}: {str(exc).splitlines()[0]})"
    shown = "; ".join(", ".join(f"{n}={v}" for n, v in zip(names, row, strict=True)) for row in rows)
    return f"first failing rows: {shown}"


def build(
    config: Config,
    *,
    select: str | None = None,
    full_refresh: bool = False,
    as_of: dt.datetime | None = None,
    raise_on_failure: bool = True,
    run_tests: bool = True,
) -> DbtResult:
    # The frequent watches use `dbt run`: data tests over the whole history cost what the history costs,
    # so they run in the nightly build instead.
    args = ["build" if run_tests else "run"]
    if select:
        args += ["--select", select]
    if full_refresh:
        args.append("--full-refresh")
    result = run_dbt(config, args, as_of=as_of)
    result = _retry_out_of_memory_alone(config, args, select, result, as_of=as_of)
    if raise_on_failure and not result.success:
        lines = [f"  - {n.resource_type} {n.name}: {n.status}: {n.message}" for n in result.failures]
        raise DbtError(
            f"dbt {args[0]} failed; fix these and run again (logs in "
            f"{config.dbt_work_dir / 'logs'}):\n"
            + "\n".join(lines or ["  (no node result)"])
            + (f"\n{result.notice}" if result.notice else "")
        )
    return result


def out_of_memory(node: NodeResult) -> bool:
    """A model that failed because DuckDB ran out of its memory limit."""
    return node.resource_type == "model" and node.status == "error" and OUT_OF_MEMORY in node.message.lower()


def _retry_out_of_memory_alone(
    config: Config, args: list[str], select: str | None, result: DbtResult, *, as_of: dt.datetime | None
) -> DbtResult:
    """Run once more, one node at a time on one DuckDB thread, the models that ran out of memory (and
    what they skipped downstream, within the run's selection).

    A run builds two models at a time, each on the machine's DuckDB threads, under one memory limit.
    The first watch after a backfill re-reads the backfill (every stamp lies within
    reload_margin_minutes of the newest), so two of the heaviest models side by side can need more than
    the limit (at 10M comments, int_sla_thread_turns beside int_crisis_hourly_baselines in 3 GB), and the
    watch would fail the same way every five minutes until someone raised the limit by hand. Alone, on
    one thread, the model has the whole limit to itself and DuckDB's per-thread buffers shrink; it is
    slower, but it finishes, and the next cycle is a steady one again. Retried once: a model that does not
    fit alone fails as before, with both attempts in the message."""
    failed = [n.name for n in result.nodes if out_of_memory(n)]
    if not failed:
        return result
    # Each failed model and its descendants, intersected with each part of the run's selection (dbt
    # reads spaces as a union and commas as an intersection).
    parts = select.split() if select else [None]
    retry_select = [f"{name}+" if part is None else f"{name}+,{part}" for name in failed for part in parts]
    retry_args = [args[0], "--select", *retry_select, *[a for a in args[1:] if a == "--full-refresh"]]
    names = ", ".join(failed)
    log.warning(
        "dbt %s: %s ran out of DuckDB's memory limit (%s) beside other models; running %s again alone, "
        "one model at a time on one thread",
        args[0],
        names,
        resources.memory_limit(),
        "it" if len(failed) == 1 else "them",
    )
    again = run_dbt(config, retry_args, as_of=as_of, threads=1)
    redone = {n.name for n in again.nodes}
    nodes = [n for n in result.nodes if n.name not in redone] + again.nodes
    first_messages = {n.name: n.message for n in result.nodes if n.name in failed}
    for n in nodes:
        if n.name in first_messages and n.status in ("error", "fail", "runtime error"):
            n.message = f"{n.message} (also out of memory beside other models: {first_messages[n.name]})"
    merged = DbtResult(success=again.success, nodes=nodes, retried_alone=failed)
    # a failure of the first run that the retry did not cover (another model's error) still fails it
    merged.success = again.success and not merged.failures
    if merged.success:
        merged.notice = (
            f"{names} ran out of DuckDB's memory limit ({resources.memory_limit()}) beside other models and "
            "succeeded when run again alone on one thread. If this happens on every run, not only the "
            f"first after a backfill, raise {resources.MEMORY_ENV}."
        )
        log.warning("dbt %s: %s", args[0], merged.notice)
    else:
        merged.notice = (
            f"{names} ran out of DuckDB's memory limit ({resources.memory_limit()}) beside other models, and "
            f"again when run alone on one thread: raise {resources.MEMORY_ENV} (e.g. to twice "
            f"{resources.memory_limit()}) for this run and run it again."
        )
        log.error("dbt %s: %s", args[0], merged.notice)
    return merged
