"""The lived path of `make serve`: a real Prefect server WITH its scheduler, the deployments of
prefect.yaml, and a real process worker that runs what the scheduler created.

test_prefect_deployments.py turns the scheduler off to check one manual run; this module is the one
that notices when the scheduler stops creating runs (SQLAlchemy 2.1 with Prefect 3.8 did exactly that,
logging `Can't evaluate bulk DML statement` and creating nothing).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import yaml

from tertulia import serve
from tests.flows.prefect_scheduler import (
    INTERVAL,
    SCHEDULER_WAIT,
    config_file,
    first_finished_scheduled_run,
    run_with_api,
    short_copy,
    start_scheduling_server,
)

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

QUEUE = "scheduler-test"  # only the short-interval copy goes here, so the worker runs nothing else
COPY = f"sla-watch-every-{INTERVAL}s"


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory):
    base = tmp_path_factory.mktemp("prefect-scheduler")
    paths = serve.ServicePaths(base / "home")
    api_url = start_scheduling_server(paths)
    config_path = config_file(base)

    from tertulia.config import load_config

    env = serve.prefect_env(paths, api_url, load_config(config_path), config_path)
    env["PREFECT_WORKER_QUERY_SECONDS"] = "2"
    copy_file = base / "prefect-copy.yaml"
    short_copy(copy_file, "sla-watch", COPY, QUEUE, dry_run=True)
    try:
        serve.deploy_all(env)
        serve.deploy_all(env, prefect_file=copy_file)
        yield {"paths": paths, "env": env}
    finally:  # also when deploying fails: never leave a server behind
        serve.stop(paths)


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
        found = run_with_api(_scheduled_runs_by_deployment(), scheduled["env"])
        missing = sorted(name for name in expected if not found.get(name))
        if not missing:
            break
        if time.monotonic() > deadline:
            log = scheduled["paths"].server_log.read_text(errors="replace")[-4000:]
            pytest.fail(f"no scheduled run for {missing} after {SCHEDULER_WAIT:.0f}s; server log:\n{log}")
        time.sleep(2)
    assert set(found) == expected


def test_a_run_the_scheduler_created_completes_on_a_real_worker(scheduled):
    first_finished_scheduled_run(scheduled["paths"], scheduled["env"], QUEUE, f"sla_watch/{COPY}")


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
