"""The engagement, content, member and goal marts on a hand-built community (tests/engagement/engagement_rows.py).

Every expected number is worked out by hand in engagement_rows' docstring or next to the assertion.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from engagement_rows import example_config_in, prepare_sample_warehouse

from tertulia import warehouse
from tertulia.config_tables import sync_config_tables

AS_OF = dt.datetime(2026, 3, 11, 12, 0)  # UTC: 07:00 on Wednesday 11 March in Guayaquil
MY_MARTS = "+marts.engagement +marts.content +marts.members +marts.goals"


@pytest.fixture(autouse=True)
def _own_warehouse(monkeypatch):
    """dbt_runner.run_dbt leaves TERTULIA_WAREHOUSE set to the last built warehouse, and that variable wins
    over every config's warehouse.path: clear it so each test uses the warehouse its config names."""
    monkeypatch.delenv("TERTULIA_WAREHOUSE", raising=False)


def test_engagement_config_tables_follow_community_yml(example_config):
    con = warehouse.connect(example_config.warehouse_path)
    try:
        sync_config_tables(con, example_config)
        goals = con.execute(
            "select goal_id, metric, target, period, direction from config.goals order by goal_id"
        ).fetchall()
        levels = con.execute("select * from config.member_levels").fetchall()
        weights = dict(con.execute("select channel, weight from config.member_activity_weights").fetchall())
    finally:
        con.close()
    # community.example.yml lists four goals in this order
    assert goals == [
        (1, "engagement_rate", 0.03, "month", "at_least"),
        (2, "follower_growth", 0.05, "quarter", "at_least"),
        (3, "median_business_response_minutes", 60.0, "month", "at_most"),
        (4, "sla_met_share", 0.9, "month", "at_least"),
    ]
    assert levels == [(90, 1.0, 10.0, 30.0, 30)]
    assert weights == {"comment": 1.0, "reply": 1.5, "mention": 2.0, "dm": 0.5, "review": 3.0, "email": 0.5}


def test_empty_goal_list_still_gives_dbt_its_columns(example_config):
    cfg = example_config.model_copy(update={"goals": []})
    con = warehouse.connect(cfg.warehouse_path)
    try:
        sync_config_tables(con, cfg)
        cols = [r[0] for r in con.execute("describe config.goals").fetchall()]
        count = con.execute("select count(*) from config.goals").fetchone()[0]
    finally:
        con.close()
    assert count == 0
    assert cols == [
        "goal_id",
        "goal_name",
        "metric",
        "target",
        "period",
        "direction",
        "platform",
        "account_id",
    ]


@pytest.fixture(scope="module")
def marts(tmp_path_factory):
    """Build every model (dbt unit tests and column tests included) once; yield a read-only connection."""
    from tertulia.dbt_runner import build

    cfg = example_config_in(tmp_path_factory.mktemp("engagement_marts"))
    prepare_sample_warehouse(cfg)
    # this area's marts and everything they read (other areas' marts are tested in their own folders)
    build(cfg, select=MY_MARTS, as_of=AS_OF)  # raises DbtError naming any failing node
    os.environ.pop("TERTULIA_WAREHOUSE", None)  # see _own_warehouse
    con = warehouse.connect(cfg.warehouse_path, read_only=True)
    yield con
    con.close()


def _rows(con, sql):
    return con.execute(sql).fetchall()


@pytest.mark.integration
def test_engagement_daily_sums_deltas_per_local_day(marts):
    rows = _rows(
        marts,
        "select cast(metric_date as varchar), followers, net_follower_change, reach, post_impressions, interactions, "
        "posts_published, round(engagement_rate, 4) from marts.agg_engagement_daily order by metric_date",
    )
    assert rows == [
        ("2026-03-01", 1000, None, 500, 0, 0, 0, None),
        ("2026-03-02", 1010, 10, 700, 100, 6, 1, 0.06),
        ("2026-03-03", 1015, 5, 800, 400, 11, 1, 0.0275),
        ("2026-03-04", None, None, None, 200, 10, 0, 0.05),
        # 03-05 follows a day without account metrics: change unknown, not 15
        ("2026-03-05", 1030, None, 600, 0, 0, 0, None),
        ("2026-03-09", None, None, None, 100, 12, 1, 0.12),
        ("2026-03-10", None, None, None, 200, 10, 0, 0.05),
    ]
    # deltas add back up to each post's latest lifetime interactions: p1 25 + p2 12 + p3 12
    assert _rows(marts, "select sum(interactions) from marts.agg_engagement_daily") == [(49,)]


@pytest.mark.integration
def test_post_performance_windows_rank_and_local_slot(marts):
    rows = _rows(
        marts,
        "select post_id, published_weekday, published_hour, interactions, impressions, interactions_24h, "
        "impressions_24h, interactions_7d, impressions_7d, rank_in_account_month, member_comments, campaign "
        "from marts.fct_post_performance order by post_id",
    )
    assert rows == [
        # p1 at 24h: the 03-03 18:00Z capture (23 h after 19:00Z) -> 300 impr, 12+2+1 = 15
        ("p1", 1, 14, 25, 500, 15, 300, 15, 300, 2, 2, "lanzamiento"),
        # p2 at 24h: only the 03-03 20:00Z capture (6 h) -> 2 / 200; at 7 days: 12 / 400
        ("p2", 2, 9, 12, 400, 2, 200, 12, 400, 3, 2, None),
        ("p3", 1, 14, 12, 100, 12, 100, 12, 100, 1, 0, None),
    ]


@pytest.mark.integration
def test_best_time_shows_sample_size_and_median(marts):
    rows = _rows(
        marts,
        "select published_weekday, published_hour, posts, round(median_engagement_rate, 4), is_thin_sample "
        "from marts.rpt_best_time_to_post order by published_weekday, published_hour",
    )
    # Monday 14h: p1 (7-day rate 15/300 = 0.05) and p3 (0.12): median 0.085 from two posts -> thin
    assert rows == [(1, 14, 2, 0.085, True), (2, 9, 1, 0.03, True)]


@pytest.mark.integration
def test_content_calendar_status(marts):
    rows = _rows(
        marts,
        "select calendar_item_key, status, delay_minutes, post_id from marts.fct_content_calendar order by 1",
    )
    assert rows == [
        ("plan:cal-1", "on_time", 0, "p1"),
        ("plan:cal-2", "late", 60, "p2"),
        ("plan:cal-3", "on_time", 10, "p3"),
        ("plan:cal-4", "missed", None, None),
    ]


@pytest.mark.integration
def test_members_exclude_brand_and_team_and_count_replies(marts):
    rows = _rows(
        marts,
        "select member_key, messages, replies_received, brand_replies_received, replies_to_members, "
        "likes_received, activity_score, activity_level, is_new from marts.dim_members order by member_key",
    )
    # ana.cafe (team handle) and ig-cafetertulia (brand account) are not members
    assert rows == [
        ("instagram:u-jorge", 1, 0, 0, 1, 2, 1.5, "participant", True),
        ("instagram:u-lucia", 1, 1, 1, 0, 1, 3.0, "participant", True),
        ("instagram:u-maria", 2, 2, 1, 0, 3, 2.0, "participant", True),
    ]
    top = _rows(
        marts,
        "select member_key, activity_rank, helpful_rank from marts.rpt_top_contributors_monthly "
        "order by activity_rank",
    )
    assert top == [
        ("instagram:u-lucia", 1, None),
        ("instagram:u-maria", 2, None),
        ("instagram:u-jorge", 3, 1),
    ]


@pytest.mark.integration
def test_goal_progress_engagement_and_followers(marts):
    rows = dict(
        (r[0], r[1:])
        for r in _rows(
            marts,
            "select metric, cast(period_start_date as varchar), round(actual, 4), round(target_to_date, 4), "
            "is_on_track, is_current_period from marts.fct_goal_progress "
            "where metric in ('engagement_rate', 'follower_growth')",
        )
    )
    # March: 49 / 1000 = 0.049 >= 0.03
    assert rows["engagement_rate"] == ("2026-03-01", 0.049, 0.03, True, True)
    # Q1: 1000 -> 1030 = +3 %; 70 of 90 days elapsed on 11 March -> target to date 5 % * 70/90 = 3.89 %
    assert rows["follower_growth"] == ("2026-01-01", 0.03, round(0.05 * 70 / 90, 4), False, True)


@pytest.mark.integration
def test_highlights_for_the_demo_summary(marts):
    from tertulia.highlights import engagement_highlights

    h = engagement_highlights(marts)
    n = h["numbers"]
    # 30 days ending at the latest engagement day, 10 March: all of the sample's 49 / 1000
    assert (n["engagement"]["start_date"], n["engagement"]["end_date"]) == (
        dt.date(2026, 2, 9),
        dt.date(2026, 3, 10),
    )
    assert (
        n["engagement"]["engagement_rate"],
        n["engagement"]["goal_target"],
        n["engagement"]["on_track"],
    ) == (
        0.049,
        0.03,
        True,
    )
    assert h["engagement_rate_vs_goal"].startswith("4.9 % (49 interactions / 1,000 post impressions")
    slot = n["best_slot"]
    assert (slot["weekday_name"], slot["hour"], slot["rated_posts"], slot["is_thin_sample"]) == (
        "Monday",
        14,
        2,
        True,
    )
    assert "thin sample" in h["best_slot"]
    # cal-1 and cal-3 on time, cal-2 late, cal-4 missed
    cal = n["calendar"]
    assert (cal["due"], cal["on_time"], cal["late"], cal["missed"], cal["on_time_share"]) == (4, 2, 1, 1, 0.5)
    assert [m["name"] for m in n["top_contributors"]["members"]] == ["Lucía", "María", "Jorge"]
    assert h["top_contributors"].startswith("March 2026: Lucía")


def test_member_names_lose_control_characters_before_printing():
    from tertulia.highlights import _safe_text

    assert _safe_text("Lu\x1b[31mcía\u200b\n") == "Lu[31mcía"


@pytest.mark.integration
def test_dbt_docs_generate_works_and_declares_the_consumers(tmp_path):
    import json

    from tertulia.dbt_runner import run_dbt

    cfg = example_config_in(tmp_path)
    prepare_sample_warehouse(cfg)
    result = run_dbt(cfg, ["docs", "generate"])
    assert result.success
    manifest = json.loads((tmp_path / "dbt" / "target" / "manifest.json").read_text(encoding="utf-8"))
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    for name in (
        "slack_crisis_alerts",
        "slack_daily_digest",
        "metabase_community_dashboard",
        "superset_community_dashboard",
        "power_bi_community_report",
        "evidence_community_report",
    ):
        assert name in exposures
    bi_reads = set(exposures["metabase_community_dashboard"]["depends_on"]["nodes"])
    assert "model.tertulia.fct_goal_progress" in bi_reads and "model.tertulia.dim_members" in bi_reads
    # every column of this area's marts is documented
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["name"] in (
            "agg_engagement_daily",
            "fct_post_performance",
            "rpt_best_time_to_post",
            "fct_content_calendar",
            "dim_members",
            "rpt_top_contributors_monthly",
            "fct_goal_progress",
        ):
            assert all(c["description"] for c in node["columns"].values()), node["name"]
            assert node["description"]


@pytest.mark.integration
def test_every_built_column_is_documented_in_order(marts):
    from pathlib import Path

    import yaml

    models_dir = Path(__file__).resolve().parents[2] / "dbt_project" / "models"
    documented: dict[str, list[str]] = {}
    for area in ("marts/engagement", "marts/content", "marts/members", "marts/goals"):
        for yml in (models_dir / area).glob("_*__models.yml"):
            for model in yaml.safe_load(yml.read_text(encoding="utf-8"))["models"]:
                documented[model["name"]] = [c["name"] for c in model["columns"]]
    assert len(documented) == 7
    for name, columns in documented.items():
        built = [r[0] for r in marts.execute(f"describe marts.{name}").fetchall()]
        assert built == columns, name
