"""`tertulia serve` / `tertulia stop`: a local Prefect server, a process work pool, the deployments of
prefect.yaml and a worker, all on this machine, with their state under the project's data folder.

The same prefect.yaml deploys to a team server or Prefect Cloud (docs/operations.md); this module only
saves people from typing six commands in the right order.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tertulia.config import Config
from tertulia.progress import progress

REPO = Path(__file__).resolve().parent.parent
POOL = "tertulia-local"


@dataclass(frozen=True)
class ServicePaths:
    home: Path  # PREFECT_HOME: the server's database, logs and pid files

    @property
    def server_pid(self) -> Path:
        return self.home / "server.pid"

    @property
    def worker_pid(self) -> Path:
        return self.home / "worker.pid"

    @property
    def server_log(self) -> Path:
        return self.home / "server.log"

    @property
    def worker_log(self) -> Path:
        return self.home / "worker.log"

    @property
    def address(self) -> Path:
        return self.home / "api-url"


def default_paths() -> ServicePaths:
    return ServicePaths(Path(os.environ.get("PREFECT_HOME", REPO / "data" / "prefect")).resolve())


def free_port(preferred: int = 4200) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free TCP port on 127.0.0.1")


def prefect_env(
    paths: ServicePaths, api_url: str, config: Config | None = None, config_path: Path | None = None
) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "PREFECT_HOME": str(paths.home),
            "PREFECT_API_URL": api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "GX_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_URL": api_url.removesuffix("/api"),
            "TERTULIA_HOME": str(REPO),
        }
    )
    if config is not None:
        env["TERTULIA_TIMEZONE"] = config.community.timezone
    if config_path is not None:
        env["TERTULIA_CONFIG"] = str(Path(config_path).resolve())
    return env


def _prefect_bin() -> str:
    candidate = Path(sys.executable).with_name("prefect")
    return str(candidate) if candidate.exists() else "prefect"


def _alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


def wait_healthy(api_url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{api_url}/health", timeout=2)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.5)
    raise RuntimeError(f"the Prefect server at {api_url} did not become healthy in {timeout:.0f}s ({last})")


def running_api_url(paths: ServicePaths | None = None, timeout: float = 2.0) -> str | None:
    """The API address of the server `tertulia serve` started, if it is up and answers its health check.

    The address file outlives a server that died or was stopped by other means: a stale one is ignored.
    """
    paths = paths or default_paths()
    try:
        api_url = paths.address.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, OSError):
        return None
    if not api_url:
        return None
    try:
        return api_url if httpx.get(f"{api_url}/health", timeout=timeout).status_code == 200 else None
    except httpx.HTTPError:
        return None


def deployment_run_hint(api_url: str, deployment: str = "sla_watch/sla-watch") -> str:
    """The line to copy to run a deployment by hand: Prefect's CLI needs to be told which server."""
    prefect = Path(_prefect_bin())
    try:
        shown = str(prefect.relative_to(Path.cwd()))
    except ValueError:  # not under the current folder: the full path still works when copied
        shown = str(prefect)
    return f"PREFECT_API_URL={api_url} {shown} deployment run {deployment}"


def start_server(paths: ServicePaths, port: int) -> str:
    paths.home.mkdir(parents=True, exist_ok=True)
    api_url = f"http://127.0.0.1:{port}/api"
    env = prefect_env(paths, api_url)
    with paths.server_log.open("ab") as log:
        proc = subprocess.Popen(
            [
                _prefect_bin(),
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--analytics-off",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    paths.server_pid.write_text(str(proc.pid))
    paths.address.write_text(api_url)
    try:
        wait_healthy(api_url)
    except RuntimeError as exc:
        _terminate(paths.server_pid, "server")  # a server that never became healthy is not left running
        raise RuntimeError(f"{exc}; see {paths.server_log}") from None
    return api_url


def deploy_all(env: dict, prefect_file: Path = REPO / "prefect.yaml") -> None:
    prefect = _prefect_bin()
    steps = [
        [prefect, "--no-prompt", "work-pool", "create", POOL, "--type", "process", "--overwrite"],
        # One flow run at a time on this machine: every job writes the same warehouse.
        [prefect, "--no-prompt", "work-pool", "set-concurrency-limit", POOL, "1"],
        [prefect, "--no-prompt", "deploy", "--all", "--prefect-file", str(prefect_file)],
    ]
    for cmd in steps:
        res = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"`{' '.join(cmd[1:])}` failed:\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")


def start_worker(paths: ServicePaths, env: dict) -> int:
    with paths.worker_log.open("ab") as log:
        proc = subprocess.Popen(
            [_prefect_bin(), "worker", "start", "--pool", POOL, "--type", "process"],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    paths.worker_pid.write_text(str(proc.pid))
    return proc.pid


def start(config: Config, config_path: Path, paths: ServicePaths | None = None) -> str:
    paths = paths or default_paths()
    # About half a minute of waiting on a small machine: say which of the three steps it is in.
    with progress("Starting the Prefect server", total=3) as steps:
        if _alive(paths.server_pid):
            api_url = paths.address.read_text().strip()
        else:
            api_url = start_server(paths, free_port())
        steps.advance(description="Registering the deployments of prefect.yaml")
        env = prefect_env(paths, api_url, config, config_path)
        deploy_all(env)
        steps.advance(description="Starting the worker")
        if not _alive(paths.worker_pid):
            start_worker(paths, env)
        steps.advance()
    ui = api_url.removesuffix("/api")
    return (
        f"Prefect UI: {ui}  (deployments: {ui}/deployments)\n"
        f"Worker polling work pool '{POOL}'. Logs: {paths.server_log}, {paths.worker_log}\n"
        "Run a deployment now (copy this line):\n"
        f"  {deployment_run_hint(api_url)}\n"
        "`tertulia run` uses this server while it is up, so its runs show in the UI too.\n"
        "Stop everything with `make stop`."
    )


def _terminate(pid_file: Path, name: str) -> str:
    pid = _alive(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return f"{name}: not running"
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    for _ in range(100):
        if _alive(pid_file) is None:
            break
        time.sleep(0.1)
    else:
        os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return f"{name}: stopped (pid {pid})"


def stop(paths: ServicePaths | None = None) -> str:
    paths = paths or default_paths()
    return "\n".join([_terminate(paths.worker_pid, "worker"), _terminate(paths.server_pid, "server")])
