"""Failed or crashed runs become `pipeline` alerts: the rule, the routing, the Prefect hook on a real
flow delivering to the local Slack server, and the spool that keeps an alert when the warehouse is busy."""

from __future__ import annotations

import datetime as dt
import threading

import duckdb
import pytest
import yaml

from alerts.outbox import spool_dir, spooled
from alerts.pipeline_rules import first_error_line, pipeline_alert
from tertulia import pipeline, warehouse
from tertulia.config import EXAMPLE_CONFIG, load_config, parse_config
from tests.fakes.slack_server import VALID_TOKEN, FakeSlack

WHEN = dt.datetime(2026, 11, 20, 15, 0)


def _alert(run_id: str = "0b7c", message: str = "Flow run encountered an exception: ValueError: boom\nmore"):
    return pipeline_alert(
        flow_name="sla_watch",
        deployment="sla-watch",
        flow_run_id=run_id,
        flow_run_name="quartz-kakapo",
        state_name="Failed",
        error=message,
        occurred_at=WHEN,
        ui_url="http://127.0.0.1:4200",
    )


def test_the_alert_names_the_flow_the_deployment_the_error_and_links_the_run():
    a = _alert()
    assert a.kind == "pipeline" and a.severity == "critical"
    assert a.dedupe_key == "pipeline:0b7c"
    assert a.thread_key == "pipeline:sla_watch/sla-watch"
    assert a.title == "sla_watch/sla-watch failed"
    facts = dict(a.facts)
    assert facts["Flow"] == "sla_watch" and facts["Deployment"] == "sla-watch"
    assert facts["Error"] == "ValueError: boom"
    assert [link.url for link in a.links] == ["http://127.0.0.1:4200/runs/flow-run/0b7c"]


def test_no_ui_address_means_no_link_and_a_crash_says_crashed():
    a = pipeline_alert(
        flow_name="nightly_build",
        deployment=None,
        flow_run_id="r1",
        flow_run_name="n",
        state_name="Crashed",
        error=None,
        occurred_at=WHEN,
    )
    assert a.links == () and a.title == "nightly_build crashed"
    assert dict(a.facts)["Error"] == "no error message"


def test_first_error_line_skips_blank_lines_and_cuts_long_ones():
    assert first_error_line("\n\n  KeyError: 'x'\nTraceback") == "KeyError: 'x'"
    long = first_error_line("E" * 1000)
    assert len(long) == 300 and long.endswith("…")


def test_pipeline_alerts_go_to_the_data_channel():
    example = load_config(EXAMPLE_CONFIG)
    assert example.channel_for("pipeline", "critical") == "#data"
    # A community.yml written before the kind existed: routed like data_quality alerts.
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    del data["slack"]["channels"]["pipeline"]
    data["slack"]["channels"]["data_quality"] = "#data-ops"
    older = parse_config(data, source=EXAMPLE_CONFIG)
    assert older.channel_for("pipeline", "critical") == "#data-ops"


@pytest.fixture
def slack():
    server = FakeSlack(channels=("#comms", "#comms-leads", "#community-care", "#data", "#community")).start()
    yield server
    server.stop()


@pytest.fixture
def config_file(tmp_path, slack, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", VALID_TOKEN)
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    data["warehouse"] = {
        **data["warehouse"],
        "path": str(tmp_path / "wh.duckdb"),
        "publish_dir": str(tmp_path / "pub"),
    }
    data["bundle_dir"] = None
    data["slack"].update(
        {"base_url": slack.base_url, "seconds_per_message_per_channel": 0.0, "quiet_hours": None}
    )
    path = tmp_path / "community.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _outbox(config):
    con = duckdb.connect(str(config.warehouse_path), read_only=True)
    try:
        return con.execute(
            "select kind, severity, state, channel, payload->>'title' from tertulia.alert_outbox order by id"
        ).fetchall()
    finally:
        con.close()


@pytest.mark.integration
def test_a_flow_that_raises_sends_one_pipeline_alert_to_slack_once(prefect_harness, config_file, slack):
    from prefect import flow

    from alerts.delivery import deliver_pending
    from flows.failure_alerts import HOOKS

    @flow(name="broken_job", **HOOKS)
    def broken_job(config_path: str, dry_run: bool = False):
        raise RuntimeError("the dbt project is missing a model\nsecond line")

    state = broken_job(config_path=str(config_file), return_state=True)
    assert state.is_failed()

    config = load_config(config_file)
    assert _outbox(config) == [("pipeline", "critical", "sent", "#data", "broken_job failed")]
    posts = slack.posts("#data")
    assert len(posts) == 1
    assert "RuntimeError: the dbt project is missing a model" in str(posts[0])
    assert "second line" not in str(posts[0])

    # Delivery runs again (the next scheduled run): nothing is sent twice.
    con = warehouse.connect(config.warehouse_path)
    try:
        deliver_pending(con, config, now=pipeline.utcnow())
    finally:
        con.close()
    assert len(slack.posts("#data")) == 1


def test_a_busy_warehouse_spools_the_alert_and_the_next_alert_run_sends_it(config_file, slack):
    config = load_config(config_file)
    alert = _alert("run-42")
    holding, release = threading.Event(), threading.Event()

    def other_run():
        with warehouse.writer_lock(config.warehouse_path, holder="nightly_build"):
            holding.set()
            release.wait(60)

    t = threading.Thread(target=other_run)
    t.start()
    try:
        assert holding.wait(60)
        outcome = pipeline.send_pipeline_alert(config, alert, wait_seconds=0.5)
    finally:
        release.set()
        t.join()
    assert "spooled" in outcome
    assert [a.dedupe_key for _, a in spooled(config.warehouse_path)] == ["pipeline:run-42"]

    with warehouse.writer_lock(config.warehouse_path):
        pipeline.prepare_warehouse(config)
        pipeline.evaluate_and_send_alerts(config, now=WHEN)
        pipeline.evaluate_and_send_alerts(config, now=WHEN)  # a second run: not enqueued or sent again
    assert [r[:4] for r in _outbox(config)] == [("pipeline", "critical", "sent", "#data")]
    assert len(slack.posts("#data")) == 1
    assert list(spool_dir(config.warehouse_path).glob("*.json")) == []


def _run_objects(config_path, state_name: str, message: str):
    from types import SimpleNamespace

    def nightly_build(config_path: str = "community.yml", dry_run: bool = False): ...

    flow = SimpleNamespace(name="nightly_build", fn=nightly_build)
    flow_run = SimpleNamespace(
        id="5f1e", name="brave-owl", deployment_id=None, parameters={"config_path": str(config_path)}
    )
    return flow, flow_run, SimpleNamespace(name=state_name, message=message)


def test_a_crashed_run_is_alerted_through_the_hook(config_file, slack):
    from flows.failure_alerts import alert_on_failure

    alert_on_failure(*_run_objects(config_file, "Crashed", "Execution was interrupted by SIGTERM"))
    config = load_config(config_file)
    assert _outbox(config) == [("pipeline", "critical", "sent", "#data", "nightly_build crashed")]
    assert "Execution was interrupted by SIGTERM" in str(slack.posts("#data"))


def test_an_unreachable_warehouse_spools_the_hook_s_alert_and_the_next_run_that_reaches_one_sends_it(
    config_file, slack, monkeypatch, caplog
):
    # The server down (a closed port): often the very failure the alert reports, so it must not need it.
    monkeypatch.setenv("TERTULIA_WAREHOUSE", "postgresql://nobody:pw123@127.0.0.1:1/x?connect_timeout=2")
    from flows.failure_alerts import alert_on_failure

    with caplog.at_level("WARNING", logger="tertulia.flows.failure_alerts"):
        alert_on_failure(*_run_objects(config_file, "Failed", "ConnectionError: cannot connect"))
    assert [r.levelname for r in caplog.records] == ["WARNING"]  # no "could not record" error
    assert "warehouse unreachable" in caplog.records[0].getMessage()
    assert "pw123" not in caplog.text
    # the local work files stay beside warehouse.path: the spool is where a DuckDB run there reads it
    assert [(a.kind, a.title) for _, a in spooled(config_file.parent / "wh.duckdb")] == [
        ("pipeline", "nightly_build failed")
    ]

    monkeypatch.delenv("TERTULIA_WAREHOUSE")
    config = load_config(config_file)
    with warehouse.writer_lock(config.warehouse_path):
        pipeline.prepare_warehouse(config)
        pipeline.evaluate_and_send_alerts(config, now=WHEN)
    assert [r[:4] for r in _outbox(config)] == [("pipeline", "critical", "sent", "#data")]
    assert len(slack.posts("#data")) == 1
    assert list(spool_dir(config.warehouse_path).glob("*.json")) == []


def test_the_hook_never_raises_and_logs_when_there_is_no_configuration(tmp_path, caplog):
    from flows.failure_alerts import alert_on_failure

    with caplog.at_level("ERROR", logger="tertulia.flows.failure_alerts"):
        alert_on_failure(*_run_objects(tmp_path / "missing.yml", "Failed", "ValueError: boom"))
    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert (
        "nightly_build failed" in record.getMessage() and "missing.yml: no such file" in record.getMessage()
    )
