"""fct_sla_events and agg_response_times_daily built by dbt on a tmp warehouse: incremental runs,
status moving with time, policy history, full refresh.

The scenario and its hand-computed expectations are `run_scenario`, written once for both warehouses:
here on a DuckDB file, in tests/postgres/test_sla_marts_on_postgres.py on a real PostgreSQL. What
differs is only how the warehouse is made and how the policies' new version is written
(`DuckDBWarehouse` and that test's `PostgresWarehouse`); every other statement runs through
`warehouse.connect(config.warehouse_location)`, a DuckDB connection or a `PostgresConnection`.
"""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from tertulia import warehouse
from tertulia.config import parse_config
from tertulia.dbt_runner import build
from tertulia.pipeline import prepare_warehouse
from tertulia.sla_policies import write_sla_policies
from tests.conftest import EXAMPLE_CONFIG

pytestmark = pytest.mark.integration

T = dt.datetime
SELECT = "+fct_sla_events +agg_response_times_daily"
# UTC load times of the two batches
LOAD1, LOAD2 = "2026-11-23 09:30:00", "2026-11-23 12:30:00"
POLICIES_V1 = [{"name": "same_day", "target_minutes": 480, "business_time": True}]
POLICIES_V2 = [
    {"name": "dm_247", "match": {"channel": ["dm"]}, "target_minutes": 60, "business_time": False},
    {"name": "two_hours", "target_minutes": 120, "business_time": True},
]


def _config(tmp_path, policies):
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    data["warehouse"] = {
        "path": str(tmp_path / "w.duckdb"),
        "publish_dir": str(tmp_path / "pub"),
        "lookback_hours": 0,
        "reload_margin_minutes": 0,
    }
    data["bundle_dir"] = None
    data["community"]["timezone"] = "Europe/Madrid"
    data["business_hours"] = {"weekly": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}}
    data["sla"]["policies"] = policies
    return parse_config(data, source=EXAMPLE_CONFIG, base_dir=tmp_path)


def _comments(cfg, rows, loaded_at):
    con = warehouse.connect(cfg.warehouse_location)
    try:
        for r in rows:
            # Replace by key, as landing does (raw tables carry no PRIMARY KEY: tertulia/raw_schema.py).
            con.execute("delete from raw.comments where platform = ? and comment_id = ?", [r[0], r[1]])
            con.execute(
                "insert into raw.comments (platform, comment_id, post_id, parent_id, thread_id, author_id, "
                "created_at, message, channel, _loaded_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, cast(? as timestamp))",
                [*r, loaded_at],
            )
    finally:
        con.close()


def _events(cfg):
    con = warehouse.connect(cfg.warehouse_location, read_only=True)
    try:
        cur = con.execute(
            "select sla_event_id, policy_name, sla_breach_at, first_response_at, business_minutes_to_respond, "
            "status, item_message, responder_member_id, owner_member_id, owner_slack_user_id "
            "from marts.fct_sla_events order by sla_event_id"
        )
        cols = [d[0] for d in cur.description]
        return {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}
    finally:
        con.close()


def _days(cfg):
    """Every column but built_as_of (the build's instant), by name: `select * exclude` is DuckDB's only."""
    con = warehouse.connect(cfg.warehouse_location, read_only=True)
    try:
        cur = con.execute("select * from marts.agg_response_times_daily order by response_day_key")
        kept = [i for i, d in enumerate(cur.description) if d[0] != "built_as_of"]
        assert len(kept) == len(cur.description) - 1
        return [tuple(r[i] for i in kept) for r in cur.fetchall()]
    finally:
        con.close()


class DuckDBWarehouse:
    """The scenario on a DuckDB file: prepared and policies written as the pipeline does on one."""

    def __init__(self, tmp_path, monkeypatch) -> None:
        # dbt_runner exports TERTULIA_WAREHOUSE, which then wins over any config: pin it to this test's file
        monkeypatch.setenv("TERTULIA_WAREHOUSE", str(tmp_path / "w.duckdb"))

    def prepare(self, cfg) -> None:
        prepare_warehouse(cfg)

    def write_policies(self, cfg, now: dt.datetime) -> None:
        con = warehouse.connect(cfg.warehouse_location)
        try:
            write_sla_policies(con, cfg, now=now)
        finally:
            con.close()


def test_incremental_runs_status_over_time_policy_history_and_full_refresh(tmp_path, monkeypatch):
    run_scenario(tmp_path, DuckDBWarehouse(tmp_path, monkeypatch))


def run_scenario(tmp_path, wh) -> None:
    """The scenario on `wh` (its `prepare(cfg)` and `write_policies(cfg, now)`), every value by hand."""
    cfg1 = _config(tmp_path, POLICIES_V1)
    wh.prepare(cfg1)
    con = warehouse.connect(cfg1.warehouse_location)
    con.execute(
        "insert into raw.team (member_id, name, slack_user_id, handles) values "
        "('tm-ana', 'Ana', 'U0ANA', 'instagram:ana.cafe')"
    )
    con.execute(
        "insert into raw.posts (platform, post_id, account_id, published_at, permalink) values "
        "('instagram', 'p1', 'ig-cafetertulia', '2026-11-20T10:00:00Z', 'https://ig.example/p1')"
    )
    con.close()
    # Mon 23 Nov 2026, Madrid (UTC+1): opening 09:00 local = 08:00 UTC
    _comments(
        cfg1,
        [
            ("instagram", "a1", "p1", "", "ta", "m1", "2026-11-23T08:30:00Z", "¿horario?", "comment"),
            ("instagram", "b1", "p1", "", "tb", "m2", "2026-11-23T08:40:00Z", "pedido roto", "comment"),
            ("instagram", "d1", "p1", "", "td", "m4", "2026-11-23T08:50:00Z", "compra ya", "comment"),
        ],
        LOAD1,
    )
    build(cfg1, select=SELECT, as_of=T(2026, 11, 23, 9, 0))
    ev = _events(cfg1)
    assert set(ev) == {"instagram:a1", "instagram:b1", "instagram:d1"}
    assert ev["instagram:a1"]["status"] == "pending"
    assert ev["instagram:a1"]["sla_breach_at"] == T(2026, 11, 23, 16, 30)  # 08:30 UTC + 480 business min
    assert (ev["instagram:a1"]["owner_member_id"], ev["instagram:a1"]["owner_slack_user_id"]) == (
        "tm-ana",
        "U0ANA",
    )

    # Policies change at 12:00 UTC; run 2 lands a team reply to b1, a new DM, and d1 re-scored as spam.
    cfg2 = _config(tmp_path, POLICIES_V2)
    wh.write_policies(cfg2, T(2026, 11, 23, 12, 0))
    con = warehouse.connect(cfg2.warehouse_location)
    con.execute(
        "insert into raw.comment_enrichment (platform, comment_id, content_hash, intent, priority, enriched_at) "
        "values ('instagram', 'd1', 'h', 'spam', 'low', cast(? as timestamp))",
        [LOAD2],
    )
    con.close()
    _comments(
        cfg2,
        [
            ("instagram", "b2", "p1", "b1", "tb", "ana.cafe", "2026-11-23T12:10:00Z", "lo sentimos", "reply"),
            ("instagram", "c1", "", "", "tc", "m3", "2026-11-23T12:15:00Z", "hola", "dm"),
        ],
        LOAD2,
    )
    # Mark a1 (untouched thread) so we can see it is not recomputed by the incremental run.
    con = warehouse.connect(cfg2.warehouse_location)
    con.execute(
        "update marts.fct_sla_events set item_message = 'not recomputed' where sla_event_id = 'instagram:a1'"
    )
    con.close()
    # sync as the pipeline does (same policies: no new version), then build later in the day
    prepare_warehouse(cfg2)
    build(cfg2, select=SELECT, as_of=T(2026, 11, 23, 16, 45))
    ev = _events(cfg2)
    assert set(ev) == {"instagram:a1", "instagram:b1", "instagram:c1"}  # d1 is spam now: its row is gone
    a1, b1, c1 = ev["instagram:a1"], ev["instagram:b1"], ev["instagram:c1"]
    assert a1["item_message"] == "not recomputed"  # untouched thread kept its row...
    assert a1["status"] == "breached"  # ...but its status moved with time (deadline 16:30 < 16:45)
    # b1 arrived under version 1: 480 business minutes, answered by team member Ana after 210 minutes
    assert (b1["policy_name"], b1["status"], b1["business_minutes_to_respond"]) == ("same_day", "met", 210)
    assert (b1["first_response_at"], b1["responder_member_id"]) == (T(2026, 11, 23, 12, 10), "tm-ana")
    # c1 arrived after the change: the 24/7 DM policy, 60 calendar minutes, unanswered
    assert (c1["policy_name"], c1["sla_breach_at"], c1["status"]) == (
        "dm_247",
        T(2026, 11, 23, 13, 15),
        "breached",
    )

    con = warehouse.connect(cfg2.warehouse_location, read_only=True)
    day = con.execute(
        "select items, answered_items, median_business_minutes, met_items, breached_items, within_sla_share "
        "from marts.agg_response_times_daily where local_date = date '2026-11-23' and platform = 'instagram' "
        "and responder_member_id is null"
    ).fetchone()
    con.close()
    assert day == (2, 0, None, 0, 2, 0.0)  # a1 and c1 unanswered, both breached
    days_incremental = _days(cfg2)

    # A full refresh recomputes everything: same rows, and a1's text restored.
    build(cfg2, select=SELECT, as_of=T(2026, 11, 23, 16, 45), full_refresh=True)
    # the daily aggregate, kept by local day in the incremental runs, is the one a full build gives
    assert _days(cfg2) == days_incremental
    full = _events(cfg2)
    assert full["instagram:a1"]["item_message"] == "¿horario?"
    full["instagram:a1"]["item_message"] = "not recomputed"
    assert full == ev
