"""Shared test set-up: telemetry off, Prefect in a temporary home, one Prefect harness per session."""

from __future__ import annotations

import os
import tempfile
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
