"""The flows' tasks retry only what another attempt can fix (flows/tasks.py).

The real task objects the flows call are run inside a flow against the test Prefect API, with their
retry delays set to zero (`with_options`) and the pipeline step they wrap replaced by one that fails.
"""

from __future__ import annotations

import urllib.error

import duckdb
import pytest
from prefect import flow
from prefect.states import Failed

from flows import tasks
from tertulia import pipeline


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (ConnectionResetError("reset by peer"), True),
        (TimeoutError("read timed out"), True),
        (urllib.error.URLError("slack.com unreachable"), True),
        (duckdb.IOException("could not read file"), True),
        (ValueError("bad record"), False),
        (FileNotFoundError("no bundle folder"), False),  # an OSError, but not one time fixes
        (KeyError("missing column"), False),
    ],
)
def test_which_errors_are_transient(exc, transient):
    assert tasks.is_transient(exc) is transient
    assert tasks.retry_if_transient(None, None, Failed(data=exc)) is transient


def test_the_tasks_that_retry_have_the_condition():
    retrying = {t.name: t for t in vars(tasks).values() if getattr(t, "retries", 0)}
    assert sorted(retrying) == ["Import file exports", "Send alerts to Slack"]
    assert all(t.retry_condition_fn is tasks.retry_if_transient for t in retrying.values())


def _run_import(monkeypatch, errors: list[BaseException]) -> tuple[int, str, str]:
    """Run the real import task in a flow; the wrapped step raises `errors` in turn, then returns 'ok'."""
    calls = []

    def failing_import(config, bundle_dir):
        calls.append(bundle_dir)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "ok"

    monkeypatch.setattr(pipeline, "import_files", failing_import)
    task = tasks.import_files.with_options(retry_delay_seconds=0)

    @flow
    def one_import() -> tuple[str, str]:
        # the task's final state, as plain values: a failed state returned would fail the flow itself
        state = task(None, None, return_state=True)
        return state.type.value, str(state.result(raise_on_failure=False))

    final, result = one_import()
    return len(calls), final, result


@pytest.mark.integration
def test_a_transient_error_is_retried(prefect_harness, monkeypatch):
    attempts, final, result = _run_import(monkeypatch, [ConnectionResetError("reset"), TimeoutError("slow")])
    assert attempts == 3  # two failures, then the third attempt lands
    assert (final, result) == ("COMPLETED", "ok")


@pytest.mark.integration
def test_a_permanent_error_fails_at_once(prefect_harness, monkeypatch):
    attempts, final, result = _run_import(monkeypatch, [ValueError("line 3: bad timestamp")])
    assert attempts == 1  # retries=2, but a bad file stays bad
    assert (final, result) == ("FAILED", "line 3: bad timestamp")
