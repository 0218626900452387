"""`tertulia run` on a PostgreSQL warehouse posts the alerts DuckDB's run posts, each once.

The sample community (seed 7, 30 days, its end pinned) runs through the pipeline flow twice on a DuckDB
warehouse and on a PostgreSQL one (TERTULIA_WAREHOUSE=postgresql://...), both at the sample's end, each
posting to its own local Slack Web API server (tests/fakes/slack_server.py). PostgreSQL's first run
meets Slack down (every chat.postMessage answers 503): nothing is posted, the alerts wait in the
outbox; its second run, Slack back, posts them. Then both Slack servers hold the same messages (text
and channel, thread replies in the same threads) and a run more posts nothing new on either.
PostgreSQL's configuration names a live source: its run notes that live ingest does not run there
yet and does the rest. The quality gates find the same (every expectation's suite, column and outcome; what they hold back).
`tertulia status` and `tertulia quarantine` print the same on both but for the warehouse's name and
the load times (wall clock).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import psycopg2
import pytest
import yaml
from fakes.slack_server import VALID_TOKEN, FakeSlack
from typer.testing import CliRunner

from tertulia.cli import app
from tertulia.sample import write_sample
from tests.postgres.test_marts_on_postgres import environment

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SAMPLE_END = dt.date(2025, 3, 20)
DATABASE = "tertulia_run"
ROLE = "tertulia_dbt"


def _config_file(folder: Path, bundle: Path, slack: FakeSlack, sources: dict | None = None) -> Path:
    data = yaml.safe_load((REPO / "community.example.yml").read_text(encoding="utf-8"))
    data["warehouse"] = {
        **data["warehouse"],
        "path": str(folder / "warehouse.duckdb"),
        "publish_dir": str(folder / "published"),
    }
    data["bundle_dir"] = str(bundle)
    data["slack"] = {
        **data["slack"],
        "base_url": slack.base_url,
        "quiet_hours": None,
        "seconds_per_message_per_channel": 0.0,
        "timeout_seconds": 0.5,
    }
    if sources:
        data["sources"] = sources
    folder.mkdir(parents=True)
    path = folder / "community.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _run(config_path: Path, as_of: str, env: dict[str, str]):
    from flows.pipeline import community_pipeline

    with environment(env):
        return community_pipeline(config_path=str(config_path), as_of=as_of)


def _messages(slack: FakeSlack) -> list[tuple[str, str, str | None]]:
    """(channel name, text, text of the thread's root or None), in the order posted."""
    names = {cid: name for name, cid in slack.state.channels.items()}
    # the fake lists its messages channel by channel; a message's ts grows with every post
    posts = sorted(slack.posts(), key=lambda m: float(m["ts"]))
    by_ts = {m["ts"]: m["text"] for m in posts}
    return [(names[m["channel"]], m["text"], by_ts.get(m["thread_ts"])) for m in posts]


def _cli(command: list[str], config_path: Path, env: dict[str, str]) -> str:
    with environment(env):
        result = CliRunner().invoke(app, [*command, "-c", str(config_path)])
    assert result.exit_code == 0, result.output
    return result.output


def build_runs(tmp_path_factory, postgres_server):
    """The `runs` fixture (conftest.py, session-scoped so test_watches_on_postgres.py reuses its warehouses)."""
    tmp = tmp_path_factory.mktemp("pg-run")
    facts = write_sample(tmp / "sample", days=30, seed=7, end=SAMPLE_END)
    as_of = facts.now.isoformat()
    postgres_server.create_database(DATABASE, owner=ROLE)
    duck_slack, pg_slack = FakeSlack().start(), FakeSlack().start()
    try:
        # a live source on both warehouses: the run's ingest step runs on each, and its source, which
        # nothing answers (port 9), stops the same way on both without stopping the run
        masto = {
            "platform": "mastodon",
            "base_url": "http://127.0.0.1:9",
            "account_id": "1",
            "token_env": "T",
        }
        duck_cfg = _config_file(tmp / "duckdb", tmp / "sample", duck_slack, sources={"masto": masto})
        pg_cfg = _config_file(tmp / "postgres", tmp / "sample", pg_slack, sources={"masto": masto})
        duck_env = {
            "SLACK_BOT_TOKEN": VALID_TOKEN,
            "TERTULIA_WAREHOUSE": str(tmp / "duckdb" / "warehouse.duckdb"),
        }
        pg_env = {
            **postgres_server.env(DATABASE, ROLE),
            "SLACK_BOT_TOKEN": VALID_TOKEN,
            "TERTULIA_WAREHOUSE": postgres_server.url(DATABASE, ROLE),
        }
        out: dict = {"duck_cfg": duck_cfg, "pg_cfg": pg_cfg, "duck_env": duck_env, "pg_env": pg_env}
        out.update(as_of=as_of, tmp=tmp, duck_slack=duck_slack, pg_slack=pg_slack)
        out["duck_first"] = _run(duck_cfg, as_of, duck_env)
        out["duck_posts"] = _messages(duck_slack)

        pg_slack.fail("chat.postMessage", status=503, times=100_000)
        out["pg_down"] = _run(pg_cfg, as_of, pg_env)
        out["pg_posts_while_down"] = _messages(pg_slack)
        pg_slack.faults.clear()
        out["pg_back"] = _run(pg_cfg, as_of, pg_env)
        out["pg_posts"] = _messages(pg_slack)

        out["duck_again"] = _run(duck_cfg, as_of, duck_env)
        out["pg_again"] = _run(pg_cfg, as_of, pg_env)
        out["duck_posts_after"] = _messages(duck_slack)
        out["pg_posts_after"] = _messages(pg_slack)
        yield out
    finally:
        duck_slack.stop()
        pg_slack.stop()


DQ_RESULTS = (
    'select suite, expectation, "column", success, run_at from tertulia.dq_results '
    'order by run_at, suite, expectation, "column"'
)


def test_the_quality_gates_find_the_same(runs, postgres_server):
    duck = duckdb.connect(str(runs["duck_cfg"].parent / "warehouse.duckdb"), read_only=True)
    try:
        duck_rows = duck.execute(DQ_RESULTS).fetchall()
    finally:
        duck.close()
    pg = psycopg2.connect(
        **{
            "host": postgres_server.host,
            "port": postgres_server.port,
            "user": ROLE,
            "password": postgres_server.password,
            "dbname": DATABASE,
        }
    )
    try:
        with pg.cursor() as cur:
            cur.execute(DQ_RESULTS)
            pg_rows = cur.fetchall()
    finally:
        pg.close()
    # each of the two runs on DuckDB and three on PostgreSQL wrote one set; all at the same instant
    assert len(duck_rows) > 100
    assert sorted(set(pg_rows)) == sorted(set(duck_rows))
    assert runs["pg_back"].quality.held_kinds == runs["duck_first"].quality.held_kinds


def test_duckdb_run_posts_alerts(runs):
    # the comparison below means something only if there are alerts
    assert len(runs["duck_posts"]) >= 5


def test_postgres_run_says_what_it_did_not_do(runs):
    notes = "\n".join(runs["pg_back"].notes)
    assert "DuckDB warehouse only" not in notes  # every step ran: live ingest too
    duck_source, pg_source = runs["duck_first"].sources["masto"], runs["pg_back"].sources["masto"]
    assert pg_source.status == duck_source.status != "ok"
    assert pg_source.landed == duck_source.landed == {}
    assert "not published" in notes and "read-only role" in notes
    assert runs["pg_back"].published is None
    assert sorted(runs["pg_back"].models_built) == sorted(runs["duck_first"].models_built)


def test_slack_down_posts_nothing_and_back_posts_what_duckdb_posted(runs):
    assert runs["pg_posts_while_down"] == []
    assert runs["pg_down"].alerts is not None and runs["pg_down"].alerts.pending > 0
    missing = [m for m in runs["duck_posts"] if m not in runs["pg_posts"]]
    extra = [m for m in runs["pg_posts"] if m not in runs["duck_posts"]]
    assert (missing, extra) == ([], [])
    assert sorted(runs["pg_posts"]) == sorted(runs["duck_posts"])
    assert runs["pg_back"].alerts.pending == 0


def test_a_second_run_posts_nothing_new(runs):
    assert runs["duck_posts_after"] == runs["duck_posts"]
    assert runs["pg_posts_after"] == runs["pg_posts"]


def test_status_and_quarantine_print_the_same(runs):
    def strip(text: str, env: dict[str, str]) -> str:
        text = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", "<loaded at>", text)  # wall clock
        return text.replace(env["TERTULIA_WAREHOUSE"], "<warehouse>")

    duck = _cli(["status"], runs["duck_cfg"], runs["duck_env"])
    pg = _cli(["status"], runs["pg_cfg"], runs["pg_env"])
    assert "raw.comments" in duck and "Newest comment:" in duck
    assert strip(pg, runs["pg_env"]) == strip(duck, runs["duck_env"])
    duck_q = _cli(["quarantine"], runs["duck_cfg"], runs["duck_env"])
    pg_q = _cli(["quarantine"], runs["pg_cfg"], runs["pg_env"])
    assert pg_q == duck_q
