"""The `tertulia` command's front door: bad input stops with one clear line before anything starts,
`--version`, `--now` with an offset, and finding the Prefect server `tertulia serve` started."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tertulia import cli, serve
from tertulia.pipeline import parse_instant

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _tertulia(
    *args: str, home: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """The installed command in its own process, with Prefect's home in `home` (left empty unless a
    Prefect client or server started), no server address inherited, and `env` on top."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env = {**base, **(env or {}), "PREFECT_HOME": str(home)}
    exe = Path(sys.executable).with_name("tertulia")
    return subprocess.run(
        [str(exe), *args], env=env, cwd=cwd or REPO, capture_output=True, text=True, timeout=300
    )


def test_version():
    from importlib.metadata import version

    result = runner.invoke(cli.app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"tertulia {version('tertulia')}"


def test_now_with_an_offset_is_the_same_instant_in_naive_utc():
    assert parse_instant("2026-11-27T15:00:00-05:00") == dt.datetime(2026, 11, 27, 20, 0)
    assert parse_instant("2026-11-27T20:00:00Z") == dt.datetime(2026, 11, 27, 20, 0)
    assert parse_instant("2026-11-27T20:00:00") == dt.datetime(2026, 11, 27, 20, 0)  # no offset: UTC
    assert parse_instant(None) is None and parse_instant("") is None


def test_bad_now_stops_with_one_line_before_any_prefect_server(tmp_path):
    home = tmp_path / "prefect-home"
    home.mkdir()
    result = _tertulia("run", "--now", "yesterday", "--config", "community.example.yml", home=home)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "'yesterday' is not an ISO 8601 instant" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert list(home.iterdir()) == []  # no temporary server, no Prefect client ever started


def test_the_cli_passes_now_to_the_flow_as_naive_utc(monkeypatch, example_config):
    import flows.pipeline

    seen = {}

    class Report:
        summary_text = "done"

    def fake_flow(**kwargs):
        seen.update(kwargs)
        return Report()

    monkeypatch.setattr(flows.pipeline, "community_pipeline", fake_flow)
    monkeypatch.setattr(cli, "_use_running_server", lambda: None)
    result = runner.invoke(
        cli.app, ["run", "--config", "community.example.yml", "--now", "2026-11-27T15:00:00-05:00"]
    )
    assert result.exit_code == 0, result.output
    assert seen["as_of"] == "2026-11-27T20:00:00"


def test_run_without_a_community_yml_runs_the_example_it_validated(monkeypatch, tmp_path):
    import shutil

    import flows.pipeline

    seen = {}

    class Report:
        summary_text = "done"

    monkeypatch.setattr(flows.pipeline, "community_pipeline", lambda **kw: seen.update(kw) or Report())
    monkeypatch.setattr(cli, "_use_running_server", lambda: None)
    shutil.copy(REPO / "community.example.yml", tmp_path / "community.example.yml")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli.app, ["run", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert seen["config_path"] == "community.example.yml"  # not the missing community.yml
    # ...and says so, on stderr, so the user knows these are not their settings.
    assert result.stderr.count("No community.yml here: using community.example.yml") == 1
    assert "No community.yml" not in result.stdout


def test_unknown_entity_is_refused_with_the_list_of_entities():
    result = runner.invoke(cli.app, ["quarantine", "--entity", "likes", "--config", "community.example.yml"])
    assert result.exit_code == 1
    assert "--entity 'likes' is not an entity; use one of" in result.output
    assert "comments" in result.output


def test_serve_refuses_a_missing_config_before_starting_anything(tmp_path):
    home = tmp_path / "prefect-home"
    home.mkdir()
    result = _tertulia("serve", "--config", str(tmp_path / "community.yml"), home=home)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "community.yml: no such file" in result.stderr
    assert list(home.iterdir()) == []


@pytest.mark.integration
def test_build_with_a_selector_matching_nothing_fails(example_config, tmp_path):
    import yaml

    data = yaml.safe_load((REPO / "community.example.yml").read_text(encoding="utf-8"))
    data["warehouse"] = {**data["warehouse"], "path": str(tmp_path / "wh.duckdb")}
    config = tmp_path / "community.yml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = _tertulia("build", "--select", "nonexistent", "--config", str(config), home=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "--select 'nonexistent' matches no model" in result.stderr


class _Health(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        ok = self.path == "/api/health"
        self.send_response(200 if ok else 404)
        self.end_headers()
        self.wfile.write(b"true" if ok else b"")

    def log_message(self, *args):
        pass


@pytest.fixture
def health_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


def test_a_served_address_that_answers_is_used(tmp_path, health_server):
    paths = serve.ServicePaths(tmp_path)
    assert serve.running_api_url(paths) is None  # nothing saved: Prefect's own default
    paths.address.write_text(health_server)
    assert serve.running_api_url(paths) == health_server


def test_a_stale_address_is_ignored(tmp_path):
    paths = serve.ServicePaths(tmp_path)
    paths.address.write_text(f"http://127.0.0.1:{serve.free_port(0)}/api")  # nothing listens there
    assert serve.running_api_url(paths, timeout=0.5) is None


def test_the_cli_points_prefect_at_the_running_server(tmp_path, health_server, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_UI_URL", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    (tmp_path / "api-url").write_text(health_server)
    assert cli._use_running_server() == health_server
    assert os.environ["PREFECT_API_URL"] == health_server
    assert os.environ["PREFECT_UI_URL"] == health_server.removesuffix("/api")


def test_an_explicit_prefect_api_url_wins(tmp_path, health_server, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:1/api")
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    (tmp_path / "api-url").write_text(health_server)
    assert cli._use_running_server() is None
    assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:1/api"


def test_serve_prints_the_line_to_run_a_deployment(monkeypatch):
    monkeypatch.chdir(REPO)
    hint = serve.deployment_run_hint("http://127.0.0.1:4200/api")
    prefect = Path(serve._prefect_bin())
    shown = prefect.relative_to(REPO) if prefect.is_relative_to(REPO) else prefect
    assert hint == f"PREFECT_API_URL=http://127.0.0.1:4200/api {shown} deployment run sla_watch/sla-watch"


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # free once closed: nothing listens there


def test_a_port_typo_stops_any_command_with_one_masked_line(tmp_path):
    home = tmp_path / "prefect-home"
    home.mkdir()
    url = "postgresql://tertulia_dbt:WRONGSECRET@127.0.0.1:5543x/tertulia"
    for command in ("run", "status"):
        result = _tertulia(
            command, "--config", "community.example.yml", home=home, env={"TERTULIA_WAREHOUSE": url}
        )
        assert result.returncode == 1, result.stderr
        assert result.stderr.strip().splitlines() == [
            "TERTULIA_WAREHOUSE: 'postgresql://tertulia_dbt:***@127.0.0.1:5543x/tertulia' is not a valid "
            "postgresql:// URL (Port could not be cast to integer value as '5543x'); a URL is expected: "
            "postgresql://user@host:5432/dbname"
        ]
        assert "WRONGSECRET" not in result.stdout
    assert list(home.iterdir()) == []  # stopped before any Prefect server


@pytest.mark.integration
def test_a_run_that_cannot_reach_the_warehouse_fails_in_one_line_and_spools_its_alert(tmp_path):
    from alerts.outbox import spooled

    data = yaml.safe_load((REPO / "community.example.yml").read_text(encoding="utf-8"))
    data["warehouse"] = {**data["warehouse"], "path": str(tmp_path / "data" / "warehouse.duckdb")}
    data["bundle_dir"] = None
    config = tmp_path / "community.yml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    port = _closed_port()
    url = f"postgresql://nobody:pw123@127.0.0.1:{port}/x?connect_timeout=2"

    env = {"TERTULIA_WAREHOUSE": url, "PREFECT_LOGGING_LEVEL": "INFO"}  # as a user sees it: the hook's lines
    result = _tertulia("run", "--config", str(config), "--dry-run", home=tmp_path / "ph", env=env)
    assert result.returncode == 1, result.stderr
    out = result.stdout + result.stderr
    assert "pw123" not in out
    # Prefect logs the flow's exception with its traceback; from the failure hook on, no traceback:
    # the hook spools the alert, and the CLI prints the error as one line
    assert "Running hook" in out, out[-3000:]
    after_hook = out.split("Running hook 'alert_on_failure'", 1)[1]
    assert "Traceback" not in after_hook
    assert "could not record the pipeline alert" not in after_hook
    assert "pipeline alert recorded: warehouse unreachable" in after_hook
    own = [line for line in result.stderr.splitlines() if line.startswith("cannot connect to")]
    assert own == [
        f"cannot connect to the PostgreSQL warehouse postgresql://nobody:***@127.0.0.1:{port}/x?connect_timeout=2: "
        f'connection to server at "127.0.0.1", port {port} failed: Connection refused Is the server running on '
        "that host and accepting TCP/IP connections? Check that the server is up and the credentials: "
        "PGUSER/PGPASSWORD, ~/.pgpass, or the user and password in the URL."
    ]
    # kept for the next run that reaches the warehouse (tests/alerts: how it is sent then)
    alerts = [a for _, a in spooled(tmp_path / "data" / "warehouse.duckdb")]
    assert [(a.kind, a.severity, a.title) for a in alerts] == [
        ("pipeline", "critical", "community_pipeline failed")
    ]
    assert "cannot connect to the PostgreSQL warehouse" in str(alerts[0].facts)
