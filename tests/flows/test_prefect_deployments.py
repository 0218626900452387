"""prefect.yaml against a real local Prefect server: deploy all, check schedules and parameters, run one
deployment through a real worker, and look at the deployments page in headless Chromium."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tertulia import serve

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def _write_bundle(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "accounts.csv").write_text(
        "platform,account_id,handle,name\ninstagram,ig-cafetertulia,cafetertulia,Café Tertulia\n",
        encoding="utf-8",
    )
    (folder / "comments.jsonl").write_text(
        '{"platform":"instagram","comment_id":"c1","post_id":"p1","author_id":"m1","created_at":"2026-11-20T10:00:00-05:00","message":"Hola","channel":"comment"}\n'
        '{"platform":"instagram","comment_id":"c2","post_id":"p1","parent_id":"c1","thread_id":"c1","author_id":"ig-cafetertulia","created_at":"2026-11-20T10:20:00-05:00","message":"¡Hola!","channel":"reply"}\n',
        encoding="utf-8",
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("prefect-server")
    paths = serve.ServicePaths(base / "home")
    # No scheduler: the test triggers the one run it checks, and nothing else may start meanwhile.
    os.environ["PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED"] = "false"
    try:
        api_url = serve.start_server(paths, serve.free_port(0))
    finally:
        os.environ.pop("PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED", None)

    config = yaml.safe_load((REPO / "community.example.yml").read_text(encoding="utf-8"))
    config["warehouse"]["path"] = str(base / "warehouse.duckdb")
    config["warehouse"]["publish_dir"] = str(base / "published")
    config["bundle_dir"] = str(base / "bundle")
    _write_bundle(base / "bundle")
    config_path = base / "community.yml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")

    from tertulia.config import load_config

    env = serve.prefect_env(paths, api_url, load_config(config_path), config_path)
    try:
        serve.deploy_all(env)
        yield {"paths": paths, "api_url": api_url, "env": env, "base": base, "config_path": config_path}
    finally:  # also when deploying fails: never leave a server behind
        serve.stop(paths)


def _run(coro, env):
    # Prefect reads its settings once per context, and the session's test harness may have set its own
    # API URL: a settings context, not an environment variable, points the client at this server.
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}):
        return asyncio.run(coro)


async def _deployments():
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return await client.read_deployments()


def test_every_deployment_is_registered_with_its_schedules_and_parameters(server):
    declared = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]
    deployed = {d.name: d for d in _run(_deployments(), server["env"])}
    assert set(deployed) == {d["name"] for d in declared}
    for spec in declared:
        dep = deployed[spec["name"]]
        assert dep.work_pool_name == "tertulia-local"
        assert dep.parameters["config_path"] == str(server["config_path"])
        crons = sorted((s.schedule.cron, s.schedule.timezone) for s in dep.schedules)
        assert crons == sorted((s["cron"], "America/Guayaquil") for s in spec.get("schedules", []))
        assert dep.global_concurrency_limit is not None and dep.global_concurrency_limit.limit == 1
        assert set(spec["tags"]) <= set(dep.tags)


async def _trigger_and_wait(deployment_name: str, env: dict, timeout: float = 240.0):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    run = await run_deployment(deployment_name, timeout=0)
    worker = subprocess.Popen(
        [serve._prefect_bin(), "worker", "start", "--pool", serve.POOL, "--type", "process", "--run-once"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    async with get_client() as client:
        deadline = time.monotonic() + timeout
        while True:
            fr = await client.read_flow_run(run.id)
            if fr.state is not None and fr.state.is_final():
                break
            if time.monotonic() > deadline:
                worker.kill()
                pytest.fail(
                    f"flow run did not finish in {timeout}s; worker said:\n{worker.communicate()[0][-3000:]}"
                )
            await asyncio.sleep(1)
        worker_out = worker.communicate(timeout=120)[0]
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

        arts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
        )
        return fr, arts, worker_out


def test_a_deployment_runs_on_the_worker_and_leaves_its_artifacts(server):
    fr, arts, worker_out = _run(
        _trigger_and_wait("file_drop_import/file-drops-hourly", server["env"]), server["env"]
    )
    assert fr.state.is_completed(), f"{fr.state}: {worker_out[-3000:]}"
    landed = {a.key: a for a in arts}
    assert "rows-landed" in landed, sorted(landed)
    table = landed["rows-landed"].data
    assert "comments" in str(table) and "accounts" in str(table)


@pytest.mark.browser
def test_the_deployments_page_lists_every_deployment(server, chromium, tmp_path):
    url = server["api_url"].removesuffix("/api") + "/deployments"
    dom = chromium.run(url, "--dump-dom")
    declared = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]
    missing = [d["name"] for d in declared if d["name"] not in dom]
    assert not missing, f"not on the deployments page: {missing}"
    shot = tmp_path / "deployments.png"
    chromium.run(url, f"--screenshot={shot}")
    assert shot.exists() and shot.stat().st_size > 10_000
    if os.environ.get("TERTULIA_UPDATE_DOCS") == "1":
        shutil.copy(shot, REPO / "docs" / "prefect-deployments.png")


async def _pipeline_runs():
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    async with get_client() as client:
        return await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["community_pipeline"]))
        )


def test_tertulia_run_uses_the_served_server_and_reads_now_with_its_offset(server):
    """`tertulia run` while `tertulia serve` is up: the run is on that server (so it shows in its UI),
    and `--now` with an offset reaches the flow as the same instant in naive UTC (issue 21.5)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PREFECT_HOME"] = str(server["paths"].home)  # where `tertulia serve` saved the address
    res = subprocess.run(
        [
            str(Path(serve._prefect_bin()).with_name("tertulia")),
            "run",
            "--config",
            str(server["config_path"]),
            "--dry-run",
            "--now",
            "2026-11-20T12:00:00-05:00",
        ],  # fmt: skip
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "Using the Prefect server started by `tertulia serve`" in res.stdout
    runs = _run(_pipeline_runs(), server["env"])
    assert len(runs) == 1
    assert runs[0].state.is_completed()
    assert runs[0].parameters["as_of"] == "2026-11-20T17:00:00"
