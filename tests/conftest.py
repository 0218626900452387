"""Shared test set-up: telemetry off, Prefect in a temporary home, one Prefect harness per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Set before anything imports Prefect, dbt or GX.
_PREFECT_HOME = tempfile.mkdtemp(prefix="tertulia-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("SLACK_BOT_TOKEN", None)
os.environ.pop("SLACK_WEBHOOK_URL", None)
os.environ.pop("TERTULIA_WAREHOUSE", None)

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = REPO / "community.example.yml"


@pytest.fixture(scope="session")
def prefect_harness():
    """A Prefect API for flow tests; started once (~15 s) and shared by the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def example_config(tmp_path):
    """The shipped example configuration with its warehouse and bundle moved into tmp_path."""
    from tertulia.config import example_config_in

    return example_config_in(tmp_path)


@dataclass(frozen=True)
class HeadlessChromium:
    """Debian's chromium run headless on a page served on 127.0.0.1 (the browser tests)."""

    path: str
    profile: Path

    def run(self, url: str, action: str, *, budget_ms: int = 20000, window: str = "1400,1000") -> str:
        """`action` is `--dump-dom` (returns the page after its scripts ran) or `--screenshot=FILE`.

        The virtual-time budget lets single-page apps finish their requests before the DOM is read; no
        background networking, so nothing but the page's own server is asked.
        """
        flags = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={self.profile}",
            f"--virtual-time-budget={budget_ms}",
            f"--window-size={window}",
        ]
        res = subprocess.run([self.path, *flags, action, url], capture_output=True, text=True, timeout=180)
        return res.stdout


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Debian chromium is not installed (make test installs it when run as root)")
    return HeadlessChromium(path, tmp_path_factory.mktemp("chromium-profile"))
