"""A model that runs out of DuckDB's memory limit beside other models is run again alone, once.

The first watch after a backfill re-reads the backfill (docs/benchmarks.md, the first cycle after a
full build): at 10M comments two of its heaviest models side by side did not fit in 3 GB, and the watch
failed the same way every five minutes. tertulia.dbt_runner.build runs such a model (and what it
skipped downstream, within the run's selection) again with one dbt thread and one DuckDB thread.

dbt itself is replaced here at its one entry point (`_invoke`) by a recorder that answers as dbt does
(per-node results and statuses, DuckDB's error text as dbt relays it): the retry's decisions (what is
retried, with which command line and settings, what the run reports) are what is under test, without
timing or real memory pressure.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from tertulia import dbt_runner, resources
from tertulia.config import example_config_in

OOM = (
    "Runtime Error in model int_sla_thread_turns (models/intermediate/sla/int_sla_thread_turns.sql)\n"
    "  Out of Memory Error: failed to pin block of size 256.0 KiB (2.8 GiB/2.8 GiB used)"
)


def _node(name: str, status: str, message: str = "", resource_type: str = "model"):
    return SimpleNamespace(
        node=SimpleNamespace(name=name, resource_type=resource_type, compiled_code=None),
        status=status,
        message=message,
        adapter_response={},
    )


class FakeDbt:
    """Answers each invocation with the next prepared list of node results; records the command line
    and the DuckDB threads variable each invocation saw."""

    def __init__(self, answers: list[list[SimpleNamespace]]):
        self.answers = list(answers)
        self.calls: list[dict] = []

    def __call__(self, full: list[str]):
        self.calls.append({"argv": list(full), "duckdb_threads": os.environ.get(resources.THREADS_ENV)})
        results = self.answers.pop(0)
        ok = all(r.status in ("success", "pass") for r in results)
        return SimpleNamespace(success=ok, exception=None, result=SimpleNamespace(results=results))


@pytest.fixture
def config(tmp_path: Path):
    return example_config_in(tmp_path)


def _selected(argv: list[str]) -> list[str]:
    i = argv.index("--select") + 1
    out = []
    while i < len(argv) and not argv[i].startswith("--"):
        out.append(argv[i])
        i += 1
    return out


def _threads_flag(argv: list[str]) -> str | None:
    return argv[argv.index("--threads") + 1] if "--threads" in argv else None


def test_a_model_out_of_memory_is_run_again_alone_with_what_it_skipped(config, monkeypatch, caplog):
    fake = FakeDbt(
        [
            [
                _node("stg_social__comments", "success"),
                _node("int_sla_thread_turns", "error", OOM),
                _node("int_crisis_hourly_baselines", "success"),
                _node("fct_sla_events", "skipped"),
            ],
            [_node("int_sla_thread_turns", "success"), _node("fct_sla_events", "success")],
        ]
    )
    monkeypatch.setattr(dbt_runner, "_invoke", fake)
    monkeypatch.delenv(resources.THREADS_ENV, raising=False)
    caplog.set_level(logging.WARNING, logger="tertulia.dbt_runner")

    result = dbt_runner.build(config, select="tag:sla tag:crisis", run_tests=False)

    assert len(fake.calls) == 2
    first, retry = (c["argv"] for c in fake.calls)
    # the first run: the machine's threads, no override
    assert _threads_flag(first) is None
    assert fake.calls[0]["duckdb_threads"] == resources.duckdb_settings()["threads"]
    # the retry: the failed model and its descendants within each part of the run's selection, one
    # node at a time (dbt's --threads) on one DuckDB thread
    assert retry[retry.index("--select") - 1] == "run"
    assert _selected(retry) == ["int_sla_thread_turns+,tag:sla", "int_sla_thread_turns+,tag:crisis"]
    assert _threads_flag(retry) == "1"
    assert fake.calls[1]["duckdb_threads"] == "1"
    assert "--full-refresh" not in retry
    # the variable is the caller's again afterwards
    assert resources.THREADS_ENV not in os.environ

    assert result.success
    assert result.retried_alone == ["int_sla_thread_turns"]
    assert {n.name: n.status for n in result.nodes} == {
        "stg_social__comments": "success",
        "int_crisis_hourly_baselines": "success",
        "int_sla_thread_turns": "success",
        "fct_sla_events": "success",
    }
    assert "int_sla_thread_turns ran out of DuckDB's memory limit" in result.notice
    assert "succeeded when run again alone on one thread" in result.notice
    logged = [r.getMessage() for r in caplog.records]
    assert any("running it again alone, one model at a time on one thread" in m for m in logged)
    assert any("succeeded when run again alone" in m for m in logged)


def test_a_full_build_retries_with_full_refresh_and_no_selection(config, monkeypatch):
    fake = FakeDbt(
        [
            [
                _node(
                    "int_member_messages", "error", OOM.replace("int_sla_thread_turns", "int_member_messages")
                )
            ],
            [_node("int_member_messages", "success")],
        ]
    )
    monkeypatch.setattr(dbt_runner, "_invoke", fake)

    result = dbt_runner.build(config, full_refresh=True)

    retry = fake.calls[1]["argv"]
    assert retry[retry.index("--select") - 1] == "build"
    assert _selected(retry) == ["int_member_messages+"]
    assert "--full-refresh" in retry
    assert result.success


def test_out_of_memory_again_alone_fails_with_both_attempts_and_what_to_do(config, monkeypatch, caplog):
    fake = FakeDbt(
        [
            [_node("int_sla_thread_turns", "error", OOM), _node("fct_sla_events", "skipped")],
            [_node("int_sla_thread_turns", "error", OOM), _node("fct_sla_events", "skipped")],
        ]
    )
    monkeypatch.setattr(dbt_runner, "_invoke", fake)
    caplog.set_level(logging.WARNING, logger="tertulia.dbt_runner")

    with pytest.raises(dbt_runner.DbtError) as err:
        dbt_runner.build(config, select="tag:sla", run_tests=False)

    assert len(fake.calls) == 2  # retried once, not again
    text = str(err.value)
    assert "model int_sla_thread_turns: error" in text
    assert "also out of memory beside other models" in text
    assert f"and again when run alone on one thread: raise {resources.MEMORY_ENV}" in text
    assert any(
        r.levelno == logging.ERROR and "again when run alone" in r.getMessage() for r in caplog.records
    )


def test_other_errors_are_not_retried(config, monkeypatch):
    fake = FakeDbt(
        [
            [
                _node("int_sla_thread_turns", "error", "Binder Error: Referenced column foo not found"),
                _node("not_null_x", "fail", "Got 2 results", resource_type="test"),
            ]
        ]
    )
    monkeypatch.setattr(dbt_runner, "_invoke", fake)

    result = dbt_runner.build(config, select="tag:sla", raise_on_failure=False)

    assert len(fake.calls) == 1
    assert not result.success
    assert result.retried_alone == []
    assert result.notice == ""


def test_a_retry_that_passes_leaves_another_models_error_failing(config, monkeypatch):
    fake = FakeDbt(
        [
            [
                _node("int_sla_thread_turns", "error", OOM),
                _node("int_crisis_comments", "error", "Binder Error: Referenced column foo not found"),
            ],
            [_node("int_sla_thread_turns", "success")],
        ]
    )
    monkeypatch.setattr(dbt_runner, "_invoke", fake)

    result = dbt_runner.build(config, raise_on_failure=False)

    assert _selected(fake.calls[1]["argv"]) == ["int_sla_thread_turns+"]
    assert not result.success
    assert [n.name for n in result.failures] == ["int_crisis_comments"]


def test_the_retry_runs_real_dbt_alone_on_the_models_of_the_watch(tmp_path, monkeypatch):
    """The retry's command line, as dbt itself reads it: a watch's selection on a warehouse with the
    sample landed, where dbt's first answer for int_sla_thread_turns is turned into DuckDB's
    out-of-memory error (the model itself ran; only the answer is rewritten)."""
    import datetime as dt
    import json

    from flows.watches import SLA_MODELS
    from tertulia import pipeline
    from tertulia.sample import write_sample

    config = example_config_in(tmp_path / "wh")
    config.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    facts = write_sample(tmp_path / "sample", days=5, seed=5, end=dt.date(2025, 3, 20))
    pipeline.prepare_warehouse(config)
    assert not pipeline.import_files(config, tmp_path / "sample").errors
    pipeline.enrich(config)

    real = dbt_runner._invoke
    calls: list[list[str]] = []

    def first_answer_out_of_memory(full):
        res = real(full)
        calls.append(list(full))
        if len(calls) == 1:
            for r in res.result.results:
                if r.node.name == "int_sla_thread_turns":
                    r.status, r.message = "error", OOM
        return res

    monkeypatch.setattr(dbt_runner, "_invoke", first_answer_out_of_memory)
    result = pipeline.build(config, select=SLA_MODELS, as_of=facts.now, run_tests=False)

    assert len(calls) == 2
    assert _selected(calls[1]) == [
        "int_sla_thread_turns+,+fct_sla_events",
        "int_sla_thread_turns+,+agg_response_times_daily",
    ]
    assert _threads_flag(calls[1]) == "1"
    assert result.success and result.retried_alone == ["int_sla_thread_turns"]
    # dbt ran the retry: the model and its descendants in the watch, nothing else, one at a time
    target = config.dbt_work_dir / "target" / "run_results.json"
    retried = json.loads(target.read_text(encoding="utf-8"))
    assert retried["args"]["threads"] == 1
    assert sorted(
        r["unique_id"].split(".")[-1] for r in retried["results"] if r["unique_id"].startswith("model.")
    ) == [
        "agg_response_times_daily",
        "fct_sla_events",
        "int_sla_items",
        "int_sla_items_policy_matched",
        "int_sla_thread_turns",
    ]
    assert all(r["status"] == "success" for r in retried["results"])
    statuses = {n.name: n.status for n in result.nodes if n.resource_type == "model"}
    assert statuses["int_sla_thread_turns"] == "success" and statuses["stg_social__comments"] == "success"
