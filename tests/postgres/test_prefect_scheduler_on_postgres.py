"""The lived path of `make serve` on a PostgreSQL warehouse: a real Prefect server with its scheduler on,
prefect.yaml's `sla-watch` deployed (a short-interval copy on a queue of its own, as
tests/flows/test_prefect_scheduler.py does on DuckDB), and a real process worker whose environment
names the warehouse by TERTULIA_WAREHOUSE=postgresql://... (the password in PGPASSWORD, as a team
would run it). A run the scheduler created completes on the worker, and what it did is on the server:
the SLA breach of a complaint landed there beforehand, and yesterday's digest, are in the outbox,
sent, and posted once to a local Slack Web API server.

A module of its own Prefect server (not the DuckDB module's): that module checks the scheduler
creates runs for exactly prefect.yaml's deployments, and a run its worker left behind when stopped
would hold the work pool's one slot.
"""

from __future__ import annotations

import pytest
import yaml
from fakes.slack_server import VALID_TOKEN, FakeSlack

from tertulia import serve
from tests.flows.prefect_scheduler import (
    INTERVAL,
    REPO,
    config_file,
    first_finished_scheduled_run,
    short_copy,
    start_scheduling_server,
)
from tests.postgres.test_run_on_postgres import ROLE, _cli, _messages
from tests.postgres.test_watches_on_postgres import _comment, write_drop

pytestmark = pytest.mark.integration

DATABASE = "tertulia_scheduled"
QUEUE = "scheduler-test-postgres"
COPY = f"sla-watch-postgres-every-{INTERVAL}s"
# Thursday 2025-03-20 in Quito (-05:00): a complaint at 10:00 local, nobody answers. complaint_30m
# (priority high) in business time, open 09:00-18:00: breached at 10:30 local, 15:30 UTC. The
# deployment's runs evaluate at 12:00 local, 17:00 UTC: breached, inside the alert look-back.
COMPLAINT_AT = "2025-03-20T10:00:00-05:00"
WATCH_AT = "2025-03-20T17:00:00"
COMPLAINT = "¿Alguien me ayuda? Mi pedido no llegó y nadie responde 😡"


def _bundle(folder) -> None:
    post = {
        "platform": "instagram",
        "post_id": "ig-p07001",
        "account_id": "ig-cafetertulia",
        "published_at": "2025-03-19T18:00:00-05:00",
        "message": "Llegó el nuevo tueste",
        "content_type": "photo",
        "permalink": "https://www.instagram.com/p/ig-p07001/",
        "campaign": None,
    }
    write_drop(folder, posts=[post], comments=[_comment(1, COMPLAINT_AT, COMPLAINT, "ig-p07001")])


@pytest.fixture(scope="module")
def scheduled_on_postgres(tmp_path_factory, postgres_server):
    base = tmp_path_factory.mktemp("prefect-scheduler-pg")
    postgres_server.create_database(DATABASE, owner=ROLE)
    slack = FakeSlack().start()
    paths = serve.ServicePaths(base / "home")
    try:
        example_slack = yaml.safe_load((REPO / "community.example.yml").read_text(encoding="utf-8"))["slack"]
        config_path = config_file(
            base,
            slack={
                **example_slack,
                "base_url": slack.base_url,
                "quiet_hours": None,
                "seconds_per_message_per_channel": 0.0,
            },
        )
        warehouse_env = {
            **postgres_server.env(DATABASE, ROLE),
            "SLACK_BOT_TOKEN": VALID_TOKEN,
            "TERTULIA_WAREHOUSE": postgres_server.url(DATABASE, ROLE),
        }
        _bundle(base / "drop")
        _cli(["import", str(base / "drop")], config_path, warehouse_env)

        api_url = start_scheduling_server(paths)
        from tertulia.config import load_config

        # the worker's environment, which its flow-run processes inherit, names the server
        env = {**serve.prefect_env(paths, api_url, load_config(config_path), config_path), **warehouse_env}
        env["PREFECT_WORKER_QUERY_SECONDS"] = "2"
        copy_file = base / "prefect-copy.yaml"
        short_copy(copy_file, "sla-watch", COPY, QUEUE, dry_run=False, as_of=WATCH_AT)
        serve.deploy_all(env, prefect_file=copy_file)
        run = first_finished_scheduled_run(paths, env, QUEUE, f"sla_watch/{COPY}", drain=True)
        yield {"run": run, "slack": slack, "base": base}
    finally:  # also when deploying or the run fails: never leave a server behind
        serve.stop(paths)
        slack.stop()


def test_the_scheduled_run_posts_the_breach_and_the_digest_once(scheduled_on_postgres):
    posts = _messages(scheduled_on_postgres["slack"])
    # however many runs the worker finished: the complaint's breach once, and, the runs being past
    # 08:30 local (slack.digest_at), yesterday's digest once
    assert sorted((channel, root) for channel, _, root in posts) == [
        ("#community", None),
        ("#community-care", None),
    ]
    [sla] = [text for channel, text, _ in posts if channel == "#community-care"]
    title, facts = sla.splitlines()[:2]
    assert title.endswith("SLA: SLA breached: instagram comment unanswered past its deadline")
    # complaint_30m from 10:00 local: due 10:30; the runs evaluate at 12:00 local, 90 business minutes on
    assert facts.split("; ") == [
        "Platform: instagram",
        "Channel: comment",
        "Policy: complaint_30m (30 business min)",
        "Overdue by: 1 h 30 min",
    ]
    assert f"“{COMPLAINT}”" in sla
    [digest] = [text for channel, text, _ in posts if channel == "#community"]
    assert "Wednesday 19 March 2025" in digest.splitlines()[0]


def test_the_outbox_on_the_server_holds_it_sent(scheduled_on_postgres, postgres_server):
    con = postgres_server.connect(DATABASE, ROLE)
    try:
        with con.cursor() as cur:
            cur.execute("select kind, state, channel from tertulia.alert_outbox order by id")
            rows = cur.fetchall()
    finally:
        con.close()
    assert rows == [("sla", "sent", "#community-care"), ("digest", "sent", "#community")]


def test_the_worker_never_wrote_a_duckdb_file(scheduled_on_postgres):
    # community.yml's warehouse.path: what the watch would have written without TERTULIA_WAREHOUSE
    assert not (scheduled_on_postgres["base"] / "warehouse.duckdb").exists()
