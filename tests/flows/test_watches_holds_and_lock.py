"""The watches between nightly runs: they keep the quality holds the nightly run applied, a run that waits
for the writer lock says whom it waits for, and a run whose lock another run takes right after still
publishes its artifacts (issue 21.4).

dbt and enrichment are replaced by no-ops here: what is under test is what the flows do around them
(holds, the lock, artifacts), and the dbt steps are covered by test_pipeline_end_to_end.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
import yaml

from alerts.model import Alert
from alerts.outbox import enqueue
from quality import results
from quality.results import Result, holds_in_force
from tertulia import pipeline, warehouse
from tertulia.config import EXAMPLE_CONFIG, load_config

NOW = dt.datetime(2026, 11, 20, 15, 0)
REPO = Path(__file__).resolve().parents[2]


def _quality_run(con, run_id: str, checked_at: dt.datetime, *, sla_ok: bool) -> None:
    results.ensure_tables(con)
    rows = [
        Result("marts.fct_sla_events", "business minutes non-negative", "business_minutes", sla_ok, "x", {}),
        Result("raw.comments", "created_at parses", "created_at", False, "y", {}),  # raw: holds nothing
        Result("marts.fct_crisis_signals", "score non-negative", "score", True, "z", {}),
    ]
    results.write_results(con, run_id, checked_at, checked_at, rows)


def test_holds_in_force_follow_the_latest_quality_run_only(tmp_path):
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    try:
        assert holds_in_force(con) == frozenset()  # no quality run yet
        _quality_run(con, "tq-1", NOW, sla_ok=False)
        assert holds_in_force(con) == {"sla", "digest"}  # fct_sla_events feeds both
        _quality_run(con, "tq-2", NOW + dt.timedelta(hours=1), sla_ok=True)
        assert holds_in_force(con) == frozenset()
    finally:
        con.close()


@pytest.fixture
def config_path(tmp_path, monkeypatch):
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    data["warehouse"] = {
        **data["warehouse"],
        "path": str(tmp_path / "wh.duckdb"),
        "publish_dir": str(tmp_path),
    }
    data["bundle_dir"] = None
    path = tmp_path / "community.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(pipeline, "build", lambda *a, **k: SimpleNamespace(models_built=[], nodes=[]))
    monkeypatch.setattr(pipeline, "enrich", lambda config: 0)
    return path


def _states(config) -> dict[str, str]:
    con = duckdb.connect(str(config.warehouse_path), read_only=True)
    try:
        return dict(con.execute("select dedupe_key, state from tertulia.alert_outbox").fetchall())
    finally:
        con.close()


@pytest.mark.integration
def test_a_watch_keeps_the_nightly_hold_until_a_quality_run_passes(prefect_harness, config_path):
    from flows.watches import sla_watch

    config = load_config(config_path)
    with warehouse.writer_lock(config.warehouse_path):
        pipeline.prepare_warehouse(config)
        con = warehouse.connect(config.warehouse_path)
        try:  # what the nightly run left: a failed SLA gate, and an SLA alert it held
            _quality_run(con, "tq-1", NOW, sla_ok=False)
            held = Alert(kind="sla", severity="warning", dedupe_key="sla:c1:at_risk", title="c1 at risk")
            enqueue(con, [held], now=NOW, held_kinds=frozenset({"sla", "digest"}))
        finally:
            con.close()

    sla_watch(config_path=str(config_path), dry_run=True, as_of=NOW.isoformat())
    # (the failed gate's own data_quality alerts are enqueued too: they are not held)
    assert _states(config)["sla:c1:at_risk"] == "held"

    con = warehouse.connect(config.warehouse_path)
    try:
        _quality_run(con, "tq-2", NOW + dt.timedelta(hours=1), sla_ok=True)
    finally:
        con.close()
    sla_watch(config_path=str(config_path), dry_run=True, as_of=NOW.isoformat())
    assert _states(config)["sla:c1:at_risk"] == "pending"  # released; a dry run sends nothing


_HOLDER = """
import sys, duckdb
from tertulia import warehouse
path = sys.argv[1]
with warehouse.writer_lock(path, holder=sys.argv[2]):
    con = duckdb.connect(path)  # the other run writing: DuckDB refuses every other process now
    print("ready", flush=True)
    sys.stdin.readline()
    con.close()
"""


@contextlib.contextmanager
def _other_run(db_path: Path, holder: str):
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(db_path), holder],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        yield proc
    finally:
        if proc.poll() is None:
            proc.stdin.write("\n")
            proc.stdin.flush()
        proc.wait(timeout=60)


class _Waiting(logging.Handler):
    def __init__(self, on_first):
        super().__init__()
        self.messages: list[str] = []
        self.on_first = on_first

    def emit(self, record):
        self.messages.append(record.getMessage())
        if len(self.messages) == 1:
            self.on_first()


def test_a_waiting_run_says_who_holds_the_lock_and_since_when(tmp_path):
    db = tmp_path / "wh.duckdb"
    with _other_run(db, "nightly_build") as other:

        def release():
            other.stdin.write("\n")
            other.stdin.flush()

        handler = _Waiting(release)
        logger = logging.getLogger("test.writer_lock")
        logger.addHandler(handler)
        try:
            with warehouse.writer_lock(db, wait_seconds=120, holder="sla_watch", logger=logger):
                assert "sla_watch" in warehouse.lock_holder(db)
        finally:
            logger.removeHandler(handler)
    waiting = handler.messages[0]
    assert waiting.startswith(
        f"Waiting for the writer lock on {db}: held by pid {other.pid} (nightly_build) since "
    )
    assert " UTC; waited 0s of at most 120s" in waiting


@pytest.mark.integration
def test_a_run_publishes_its_artifacts_while_the_next_run_writes(prefect_harness, config_path, monkeypatch):
    """Right after the watch lets go of the lock, another run takes it and opens the warehouse: the
    watch must still finish (it used to reopen the file for its artifacts and fail on DuckDB's lock)."""
    from prefect.states import Completed

    from flows.watches import sla_watch

    real_lock = warehouse.writer_lock
    others: list = []

    @contextlib.contextmanager
    def lock_then_hand_over(db_path, **kwargs):
        with real_lock(db_path, **kwargs):
            yield
        if kwargs.get("holder") == "sla_watch":
            cm = _other_run(Path(db_path), "crisis_watch")
            cm.__enter__()
            others.append(cm)

    monkeypatch.setattr(warehouse, "writer_lock", lock_then_hand_over)
    try:
        state = sla_watch(
            config_path=str(config_path), dry_run=True, as_of=NOW.isoformat(), return_state=True
        )
    finally:
        for cm in others:
            cm.__exit__(None, None, None)
    assert len(others) == 1, "the other run never took the lock"
    assert isinstance(state, type(Completed())) and state.is_completed(), state.message
