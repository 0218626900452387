"""The lived path of `make serve`: a real Prefect server WITH its scheduler, the deployments of
prefect.yaml, and a real process worker that runs what the scheduler created.

test_prefect_deployments.py turns the scheduler off to check one manual run; this module is the one
that notices when the scheduler stops creating runs (SQLAlchemy 2.1 with Prefect 3.8 did exactly that,
logging `Can't evaluate bulk DML statement` and creating nothing).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tertulia import serve

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

QUEUE = "scheduler-test"  # only the short-interval copy goes here, so the worker runs nothing else
INTERVAL = 15  # seconds
COPY = f"sla-watch-every-{INTERVAL}s"
SCHEDULER_WAIT = 180.0
RUN_WAIT = 420.0


def _short_copy_of_sla_watch(path: Path) -> None:
    """prefect.yaml's sla-watch on a short interval, dry-run, on its own work queue."""
    project = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    spec = next(d for d in project["deployments"] if d["name"] == "sla-watch")
    spec = {
        **spec,
        "name": COPY,
        "parameters": {**spec["parameters"], "dry_run": True},
        "work_pool": {**spec["work_pool"], "work_queue_name": QUEUE},
        "schedules": [{"interval": INTERVAL}],
    }
    # Without the deployment's own slot: runs due every few seconds while one takes a minute would
    # otherwise bounce between Late and AwaitingConcurrencySlot, a write storm the server's SQLite
    # answers with "database is locked" on this 2-core machine. The work pool's limit of 1 still
    # runs one at a time, and test_prefect_deployments.py checks every real deployment's limit.
    spec.pop("concurrency_limit", None)
    copy = {k: project[k] for k in ("name", "prefect-version", "pull")}
    path.write_text(yaml.safe_dump({**copy, "deployments": [spec]}), encoding="utf-8")


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory):
    base = tmp_path_factory.mktemp("prefect-scheduler")
    paths = serve.ServicePaths(base / "home")
    # The scheduler's default loop is 60 s; 2 s keeps the test short without changing what it does.
    # At most 5 future runs per deployment (default 100): the same inserts, fewer of them.
    settings = {
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
        "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS": "5",
    }
    os.environ.update(settings)
    try:
        api_url = serve.start_server(paths, serve.free_port(0))
    finally:
        for key in settings:
            os.environ.pop(key, None)

    config = yaml.safe_load((REPO / "community.example.yml").read_text(encoding="utf-8"))
    config["warehouse"]["path"] = str(base / "warehouse.duckdb")
    config["warehouse"]["publish_dir"] = str(base / "published")
    config["bundle_dir"] = str(base / "bundle")
    config_path = base / "community.yml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")

    from tertulia.config import load_config

    env = serve.prefect_env(paths, api_url, load_config(config_path), config_path)
    env["PREFECT_WORKER_QUERY_SECONDS"] = "2"
    copy_file = base / "prefect-copy.yaml"
    _short_copy_of_sla_watch(copy_file)
    try:
        serve.deploy_all(env)
        serve.deploy_all(env, prefect_file=copy_file)
        yield {"paths": paths, "env": env}
    finally:  # also when deploying fails: never leave a server behind
        serve.stop(paths)


def _run(coro, env):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}):
        return asyncio.run(coro)


async def _scheduled_runs_by_deployment() -> dict[str, list]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    found: dict[str, list] = {}
    async with get_client() as client:
        for dep in await client.read_deployments():
            if not dep.schedules:
                continue
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    deployment_id=FlowRunFilterDeploymentId(any_=[dep.id]),
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
                ),
                limit=5,
            )
            found[dep.name] = [r for r in runs if r.auto_scheduled]
    return found


def test_the_scheduler_creates_upcoming_runs_for_every_scheduled_deployment(scheduled):
    declared = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]
    expected = {d["name"] for d in declared if d.get("schedules")} | {COPY}
    deadline = time.monotonic() + SCHEDULER_WAIT
    while True:
        found = _run(_scheduled_runs_by_deployment(), scheduled["env"])
        missing = sorted(name for name in expected if not found.get(name))
        if not missing:
            break
        if time.monotonic() > deadline:
            log = scheduled["paths"].server_log.read_text(errors="replace")[-4000:]
            pytest.fail(f"no scheduled run for {missing} after {SCHEDULER_WAIT:.0f}s; server log:\n{log}")
        time.sleep(2)
    assert set(found) == expected


async def _first_completed_scheduled_run(deployment_name: str):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId

    async with get_client() as client:
        dep = await client.read_deployment_by_name(f"sla_watch/{deployment_name}")
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(deployment_id=FlowRunFilterDeploymentId(any_=[dep.id])),
            limit=200,
        )
    done = [r for r in runs if r.state is not None and r.state.is_final()]
    return done, runs


def test_a_run_the_scheduler_created_completes_on_a_real_worker(scheduled):
    env = scheduled["env"]
    worker_log = scheduled["paths"].home / "scheduler-test-worker.log"
    with worker_log.open("wb") as out:
        worker = subprocess.Popen(
            [
                serve._prefect_bin(),
                "worker",
                "start",
                "--pool",
                serve.POOL,
                "--type",
                "process",
                "--work-queue",
                QUEUE,
            ],  # fmt: skip
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + RUN_WAIT
        while True:
            done, runs = _run(_first_completed_scheduled_run(COPY), env)
            if done:
                break
            if time.monotonic() > deadline or worker.poll() is not None:
                pytest.fail(
                    f"no scheduled run of {COPY} finished in {RUN_WAIT:.0f}s "
                    f"({len(runs)} runs: {sorted({str(r.state_name) for r in runs})}); worker log:\n"
                    + worker_log.read_text(errors="replace")[-4000:]
                )
            time.sleep(2)
    finally:
        # The worker's flow-run processes are in its session: stop them with it.
        try:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(worker.pid, signal.SIGKILL)
    first = done[0]
    assert first.auto_scheduled, "the finished run was not created by the scheduler"
    assert first.state.is_completed(), f"{first.state}: " + worker_log.read_text(errors="replace")[-4000:]


_RECORD_START = re.compile(r"^\d\d:\d\d:\d\d\.\d+ \| ")


def _error_records(log: str) -> list[str]:
    """The server log cut into records (a timestamped line and its traceback); those at ERROR."""
    records: list[list[str]] = []
    for line in log.splitlines():
        if _RECORD_START.match(line) or not records:
            records.append([line])
        else:
            records[-1].append(line)
    return ["\n".join(r) for r in records if "| ERROR" in r[0] or any("Traceback" in x for x in r)]


def _is_sqlite_lock_contention(record: str) -> bool:
    # Prefect's own SQLite answers concurrent writers with SQLITE_BUSY even with its 60 s busy timeout
    # (a read transaction upgraded to a write, see the comment in prefect/server/database/
    # configurations.py); the client retries the transition. Prefect's maintainers call it expected
    # with SQLite (PrefectHQ/prefect#19771); docs/operations.md tells teams to put the Prefect server
    # on PostgreSQL. Everything else in the log is a failure.
    return "sqlite3.OperationalError: database is locked" in record


def test_the_server_log_holds_no_error(scheduled):
    log = scheduled["paths"].server_log.read_text(errors="replace")
    assert "bulk DML" not in log, "the scheduler hit the SQLAlchemy 2.1 incompatibility again"
    errors = [r for r in _error_records(log) if not _is_sqlite_lock_contention(r)]
    assert not errors, f"{len(errors)} error record(s); the first:\n" + errors[0][:8000]


def test_error_records_are_told_apart():
    log = (
        "10:00:00.000 | INFO    | prefect.server - started\n"
        "10:00:01.000 | ERROR   | prefect.server - Encountered error during state validation\n"
        "Traceback (most recent call last):\n"
        "sqlite3.OperationalError: database is locked\n"
        "10:00:02.000 | ERROR   | prefect.server.services.scheduler - boom\n"
        "Traceback (most recent call last):\n"
        "sqlalchemy.exc.InvalidRequestError: Can't evaluate bulk DML statement\n"
        "10:00:03.000 | INFO    | prefect.server - fine\n"
    )
    records = _error_records(log)
    assert len(records) == 2
    assert [_is_sqlite_lock_contention(r) for r in records] == [True, False]
    assert "bulk DML" in records[1] and "fine" not in records[1]
