"""The sample generator's crisis scenarios, lived by a crisis watch every 10 minutes.

The sample is the one of `make crisis-eval` (90 days to 2026-11-20, seed 7, community.example.yml).
The watch is replayed with bench/crisis_eval.py's `watch_run`: the messages written by the run's
instant, the crisis marts built as of it, the alert rule run at it.

default: the flash crisis starts at 2026-11-10 15:02:46 UTC (10:02 in Guayaquil). A watch on the
clock's 10-minute marks runs at 15:10 and 15:20 before 15:22:46, 20 minutes after the start: the
15:20 run must have opened its thread. Its messages run until 19:00 local on 2026-11-12 (the
generator's schedule: six loud hours, then two days of tail), 2026-11-13 00:00 UTC.
slow_burn: the negative share rises from 2026-11-17 (local), 05:00 UTC.
No alerted crisis outside those spans: the quiet days of both samples raise none.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DAYS, SEED, END = 90, 7, dt.date(2026, 11, 20)
FLASH_START = dt.datetime(2026, 11, 10, 15, 2, 46)
FLASH_END = dt.datetime(2026, 11, 13, 0, 0)
SLOW_BURN_START = dt.datetime(2026, 11, 17, 5, 0)
PLANTED_ACCOUNT = "instagram:ig-cafetertulia"


def _eval_module():
    spec = importlib.util.spec_from_file_location("crisis_eval", ROOT / "bench/crisis_eval.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def crisis_eval():
    before = os.environ.get("TERTULIA_WAREHOUSE")
    yield _eval_module()
    # prepare() points TERTULIA_WAREHOUSE at its scenario's file: no later test may inherit it
    if before is None:
        os.environ.pop("TERTULIA_WAREHOUSE", None)
    else:
        os.environ["TERTULIA_WAREHOUSE"] = before


def _alerted_episodes(crisis_eval, config, now):
    from alerts.crisis_rules import load_episodes
    from tertulia import warehouse

    con = warehouse.connect(config.warehouse_path, read_only=True)
    try:
        return [e for e in load_episodes(con, config, now) if e.alert_start() is not None]
    finally:
        con.close()


def _crisis_thread_alerts(alerts):
    return [a for a in alerts if (a.thread_key or "").startswith(f"crisis:{PLANTED_ACCOUNT}:2026-11-10")]


def test_flash_crisis_alerts_within_20_minutes_and_quiet_days_raise_none(crisis_eval, tmp_path_factory):
    work = tmp_path_factory.mktemp("flash")
    config, facts, *_ = crisis_eval.prepare("default", work, days=DAYS, seed=SEED, end=END)
    assert facts.crisis_start == FLASH_START
    assert crisis_eval.watch_runs_after(FLASH_START)[:2] == [
        dt.datetime(2026, 11, 10, 15, 10),
        dt.datetime(2026, 11, 10, 15, 20),
    ]

    # before the first message of the crisis, the watch is silent on that account
    assert _crisis_thread_alerts(crisis_eval.watch_run(config, work, dt.datetime(2026, 11, 10, 15, 0))) == []
    # the last run within 20 minutes of the start has opened the thread, critical: the keywords, the
    # post and the volume spike fire. From 15:00 to 15:20 the clock hour holds 7 messages, under
    # min_count 8: only the trailing 60 minutes (int_crisis_volume_rolling) see the spike by then.
    at = dt.datetime(2026, 11, 10, 15, 20)
    assert at <= FLASH_START + dt.timedelta(minutes=20)
    opened = [
        a
        for a in _crisis_thread_alerts(crisis_eval.watch_run(config, work, at))
        if a.dedupe_key.endswith(":open")
    ]
    assert [a.dedupe_key for a in opened] == [f"crisis:{PLANTED_ACCOUNT}:2026-11-10T15:open"]
    assert opened[0].severity == "critical"
    assert "volume spike" in opened[0].title

    # the whole 90 days as of the sample's now: every alerted crisis is the planted one
    episodes = _alerted_episodes(crisis_eval, config, facts.now)
    assert episodes, "the planted crisis is alerted"
    outside = [
        (e.episode_id, e.started_at)
        for e in episodes
        if not FLASH_START - dt.timedelta(hours=1) <= e.started_at < FLASH_END
    ]
    assert outside == []


def test_slow_burn_quiet_days_raise_no_alarm(crisis_eval, tmp_path_factory):
    work = tmp_path_factory.mktemp("slow_burn")
    config, facts, *_ = crisis_eval.prepare("slow_burn", work, days=DAYS, seed=SEED, end=END)
    assert facts.slow_burn_start == dt.date(2026, 11, 17)
    episodes = _alerted_episodes(crisis_eval, config, facts.now)
    # detected (on its third day, docs/crisis.md), and nothing alerted before it started
    assert any(f"{e.platform}:{e.account_id}" == PLANTED_ACCOUNT for e in episodes)
    assert [(e.episode_id, e.started_at) for e in episodes if e.started_at < SLOW_BURN_START] == []
