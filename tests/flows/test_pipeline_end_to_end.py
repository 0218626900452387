"""The whole pipeline as a Prefect flow on a small sample community: the planted facts come out, and a
second run adds nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
import yaml

from tertulia.config import load_config
from tertulia.sample import write_sample

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def community(tmp_path_factory, prefect_harness):
    from flows.pipeline import community_pipeline

    base = tmp_path_factory.mktemp("e2e")
    facts = write_sample(base / "bundle", days=45, seed=11, end=dt.date(2026, 11, 20))
    data = yaml.safe_load((REPO / "community.example.yml").read_text(encoding="utf-8"))
    data["warehouse"] = {
        **data["warehouse"],
        "path": str(base / "wh.duckdb"),
        "publish_dir": str(base / "pub"),
    }
    data["bundle_dir"] = str(base / "bundle")
    config_path = base / "community.yml"
    config_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    first = community_pipeline(config_path=str(config_path), as_of=facts.now.isoformat())
    return {"facts": facts, "config_path": config_path, "config": load_config(config_path), "first": first}


def _q(config, sql, params=None):
    con = duckdb.connect(str(config.warehouse_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_every_entity_lands_and_nothing_is_quarantined(community):
    imported = community["first"].imported
    assert not imported.errors
    assert imported.entities["comments"].inserted == community["facts"].counts["comments"]
    assert all(r.quarantined == 0 for r in imported.entities.values())


def test_the_crisis_day_has_the_most_negative_comments(community):
    cfg = community["config"]
    rows = _q(
        cfg,
        """
        select cast(timezone(?, timezone('UTC', c.created_at)) as date) as day, count(*) as negatives
        from intermediate.int_comments_authored c
        join staging.stg_social__comment_enrichment e using (platform, comment_id)
        where not c.is_brand and e.sentiment_label = 'negative'
        group by 1 order by 2 desc limit 1
        """,
        [cfg.community.timezone],
    )
    assert rows[0][0] == community["facts"].crisis_day


def test_the_planted_crisis_opens_an_incident_within_its_first_hour(community):
    start = community["facts"].crisis_start
    rows = _q(
        community["config"],
        "select min(started_at) from marts.fct_crisis_incidents where started_at between ? and ?",
        [start - dt.timedelta(hours=1), start + dt.timedelta(hours=1)],
    )
    assert rows[0][0] is not None, f"no incident within an hour of {start}"


def test_some_items_missed_their_sla_and_the_open_ones_are_tracked(community):
    statuses = dict(_q(community["config"], "select status, count(*) from marts.fct_sla_events group by 1"))
    assert statuses.get("breached", 0) >= 1
    assert statuses.get("met", 0) >= 1
    open_ids = {
        r[0] for r in _q(community["config"], "select sla_event_id from marts.fct_sla_events where is_active")
    }
    assert set(community["facts"].open_items) <= open_ids


def test_the_run_publishes_marts_and_records_its_summary(community):
    published = community["config"].publish_dir / "tertulia_marts.duckdb"
    assert published.exists()
    con = duckdb.connect(str(published), read_only=True)
    try:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    finally:
        con.close()
    assert {"fct_sla_events", "agg_engagement_daily", "fct_crisis_signals", "dim_members"} <= tables


def test_a_second_run_changes_no_row_and_sends_no_alert_again(community):
    from flows.pipeline import community_pipeline

    cfg = community["config"]
    tables = [
        "raw.comments",
        "raw.posts",
        "raw.post_metrics",
        "marts.fct_sla_events",
        "tertulia.alert_outbox",
    ]
    before = {t: _q(cfg, f"select count(*) from {t}")[0][0] for t in tables}  # noqa: S608 (our names)
    second = community_pipeline(
        config_path=str(community["config_path"]), as_of=community["facts"].now.isoformat()
    )
    after = {t: _q(cfg, f"select count(*) from {t}")[0][0] for t in tables}  # noqa: S608
    assert after == before
    assert all(r.inserted == 0 and r.updated == 0 for r in second.imported.entities.values())
    assert second.alerts.sent == 0 and second.alerts.printed == 0


def test_every_scheduled_flow_runs_on_the_built_warehouse(community):
    from flows import watches

    cfg_path = str(community["config_path"])
    as_of = community["facts"].now.isoformat()
    imported = watches.file_drop_import(config_path=cfg_path)
    assert all(r.inserted == 0 for r in imported.entities.values())
    sla = watches.sla_watch(config_path=cfg_path, dry_run=True, as_of=as_of)
    crisis = watches.crisis_watch(config_path=cfg_path, dry_run=True, as_of=as_of)
    nightly = watches.nightly_build(config_path=cfg_path, dry_run=True, as_of=as_of)
    # Dry runs change nothing in the outbox, so what the first run left undelivered is shown again.
    assert sla.mode == crisis.mode == nightly.mode == "dry-run"
    digest = watches.daily_digest(config_path=cfg_path, dry_run=True, day="2026-11-19")
    assert digest.mode == "dry-run"
    week = watches.weekly_report(config_path=cfg_path, dry_run=True, as_of=as_of)
    assert "## Goals" in week and "Café Tertulia" in week
    assert "0.6455" not in week and "warehouse" not in week.lower()  # no raw floats, no pipeline internals


def test_chat_and_mail_have_sla_items_met_and_breached(community):
    rows = _q(
        community["config"],
        "select platform, status, count(*) from marts.fct_sla_events "
        "where platform in ('discord', 'telegram', 'email') group by 1, 2",
    )
    by = {(p, s): n for p, s, n in rows}
    for platform in ("discord", "telegram", "email"):
        assert by.get((platform, "met"), 0) >= 1, (platform, rows)
        assert by.get((platform, "breached"), 0) >= 1, (platform, rows)
    policies = dict(
        _q(
            community["config"],
            "select platform, list(distinct policy_name order by policy_name) from marts.fct_sla_events "
            "where platform in ('discord', 'telegram', 'email') and priority <> 'high' group by 1",
        )
    )
    assert policies == {"discord": ["chat_1h"], "telegram": ["chat_1h"], "email": ["email_1d"]}


def test_friday_evening_mail_answered_monday_morning_in_business_minutes(community):
    got = _q(
        community["config"],
        "select arrived_at, first_response_at, calendar_minutes_to_respond, business_minutes_to_respond, "
        "policy_name, status from marts.fct_sla_events "
        "where platform = 'email' and item_message like 'Pedido para el lunes%'",
    )
    # The sample ends on Friday 20 Nov 2026, so its planted mail is Friday 13 Nov 17:30 in Quito (22:30 UTC),
    # answered Monday 16 Nov 09:45 (14:45 UTC). Open hours (community.example.yml): Mon-Fri 09:00-18:00,
    # Sat 10:00-14:00, Sunday closed, no holiday on those days: 30 min on Friday (17:30-18:00), 240 on
    # Saturday, 45 on Monday (09:00-09:45) = 315 business minutes; calendar 2 d 16 h 15 min = 3855 minutes.
    # email_1d allows 540 business minutes: met.
    assert got == [
        (dt.datetime(2026, 11, 13, 22, 30), dt.datetime(2026, 11, 16, 14, 45), 3855, 315, "email_1d", "met")
    ]
