"""What the tests of the lived `make serve` path share (tests/flows/test_prefect_scheduler.py on a DuckDB
warehouse, tests/postgres/test_prefect_scheduler_on_postgres.py on a PostgreSQL one): a real Prefect
server with its scheduler on, a short-interval copy of one deployment of prefect.yaml on a work queue
of its own, a real process worker on that queue, and the wait for a run the scheduler created.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tertulia import serve

REPO = Path(__file__).resolve().parents[2]
INTERVAL = 15  # seconds between the copy's scheduled runs
SCHEDULER_WAIT = 180.0
RUN_WAIT = 420.0


def short_copy(path: Path, deployment: str, copy_name: str, queue: str, **parameters) -> None:
    """prefect.yaml's `deployment` as `copy_name`, every INTERVAL seconds, on work queue `queue`, its
    parameters updated with `parameters` (the project's own are templated at deploy time)."""
    project = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    spec = next(d for d in project["deployments"] if d["name"] == deployment)
    spec = {
        **spec,
        "name": copy_name,
        "parameters": {**spec["parameters"], **parameters},
        "work_pool": {**spec["work_pool"], "work_queue_name": queue},
        "schedules": [{"interval": INTERVAL}],
    }
    # Without the deployment's own slot: runs due every few seconds while one takes a minute would
    # otherwise bounce between Late and AwaitingConcurrencySlot, a write storm the server's SQLite
    # answers with "database is locked" on this 2-core machine. The work pool's limit of 1 still
    # runs one at a time, and test_prefect_deployments.py checks every real deployment's limit.
    spec.pop("concurrency_limit", None)
    copy = {k: project[k] for k in ("name", "prefect-version", "pull")}
    path.write_text(yaml.safe_dump({**copy, "deployments": [spec]}), encoding="utf-8")


def config_file(base: Path, **sections) -> Path:
    """community.example.yml with its files under `base`; `sections` replace top-level keys (a Slack
    fake's `slack`, say). A PostgreSQL warehouse is named by `TERTULIA_WAREHOUSE` in the worker's
    environment, as a team names its server."""
    config = yaml.safe_load((REPO / "community.example.yml").read_text(encoding="utf-8"))
    config["warehouse"]["path"] = str(base / "warehouse.duckdb")
    config["warehouse"]["publish_dir"] = str(base / "published")
    config["bundle_dir"] = str(base / "bundle")
    config.update(sections)
    path = base / "community.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def start_scheduling_server(paths: serve.ServicePaths) -> str:
    """A Prefect server whose scheduler looks every 2 s (its default is 60 s) and creates at most 5
    future runs per deployment (default 100: the same inserts, fewer of them). Its API URL."""
    settings = {
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
        "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS": "5",
    }
    os.environ.update(settings)
    try:
        return serve.start_server(paths, serve.free_port(0))
    finally:
        for key in settings:
            os.environ.pop(key, None)


def run_with_api(coro, env: dict):
    """Runs a client coroutine against the server `env` names."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}):
        return asyncio.run(coro)


async def _runs_of(deployment: str):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId

    async with get_client() as client:
        dep = await client.read_deployment_by_name(deployment)
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(deployment_id=FlowRunFilterDeploymentId(any_=[dep.id])),
            limit=200,
        )
    done = [r for r in runs if r.state is not None and r.state.is_final()]
    return done, runs


async def _stop_scheduling(deployment: str) -> bool:
    """Pauses `deployment` and deletes its runs not yet claimed; True once none is claimed or running."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType

    async with get_client() as client:
        dep = await client.read_deployment_by_name(deployment)
        await client.pause_deployment(dep.id)
    _, runs = await _runs_of(deployment)
    async with get_client() as client:
        for run in runs:
            if run.state is not None and run.state.type == StateType.SCHEDULED:
                await client.delete_flow_run(run.id)
    return all(r.state is None or r.state.is_final() or r.state.type == StateType.SCHEDULED for r in runs)


@contextlib.contextmanager
def process_worker(paths: serve.ServicePaths, env: dict, queue: str) -> Iterator[subprocess.Popen]:
    """A real process worker of the project's pool polling `queue` only; stopped with the flow-run
    processes it started (they are in its session) when the block ends. Its log: <home>/<queue>-worker.log."""
    log = paths.home / f"{queue}-worker.log"
    with log.open("wb") as out:
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
                queue,
            ],  # fmt: skip
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield worker
    finally:
        try:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(worker.pid, signal.SIGKILL)


def first_finished_scheduled_run(
    paths: serve.ServicePaths, env: dict, queue: str, deployment: str, *, drain: bool = False
):
    """Starts a worker on `queue` and waits for the first run of `deployment` ("flow/deployment") to
    finish; fails with the worker's log if none does in RUN_WAIT. The run, checked to be the scheduler's.

    With `drain`, the deployment is then paused, its unclaimed runs deleted and a run the worker already
    claimed left to finish before the worker stops: stopping it kills a running flow, whose crash hook
    would post a `pipeline` alert, which a test counting Slack posts would see.
    """
    log = paths.home / f"{queue}-worker.log"
    with process_worker(paths, env, queue) as worker:
        deadline = time.monotonic() + RUN_WAIT
        while True:
            done, runs = run_with_api(_runs_of(deployment), env)
            if done:
                break
            if time.monotonic() > deadline or worker.poll() is not None:
                pytest.fail(
                    f"no scheduled run of {deployment} finished in {RUN_WAIT:.0f}s "
                    f"({len(runs)} runs: {sorted({str(r.state_name) for r in runs})}); worker log:\n"
                    + log.read_text(errors="replace")[-4000:]
                )
            time.sleep(2)
        while drain and not run_with_api(_stop_scheduling(deployment), env):
            if time.monotonic() > deadline + RUN_WAIT:
                pytest.fail(f"a run of {deployment} still running after {2 * RUN_WAIT:.0f}s")
            time.sleep(2)
    first = done[0]
    assert first.auto_scheduled, "the finished run was not created by the scheduler"
    assert first.state.is_completed(), f"{first.state}: " + log.read_text(errors="replace")[-4000:]
    return first
