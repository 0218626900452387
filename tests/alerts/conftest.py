"""Fixtures of the alert tests: the local Slack server, a configuration posting to it with a bot token,
and a warehouse with the outbox."""

from __future__ import annotations

import pytest
from alerts_harness import open_db, with_slack
from fakes.slack_server import VALID_TOKEN, FakeSlack


@pytest.fixture
def slack():
    server = FakeSlack().start()
    yield server
    server.stop()


@pytest.fixture
def cfg(example_config, slack, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", VALID_TOKEN)
    return with_slack(example_config, base_url=slack.base_url)


@pytest.fixture
def con(cfg):
    c = open_db(cfg)
    yield c
    c.close()
