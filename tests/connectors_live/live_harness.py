"""Shared set-up for the live connector tests: fakes, a config pointing at them, a recording sleep."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fakes.discourse_api import FakeDiscourse
from fakes.mastodon_api import FakeMastodon
from fakes.meta_api import FakeMeta
from fakes.reddit_api import FakeReddit
from fakes.youtube_api import FakeYouTube

from tertulia.config import Config, parse_config

PLATFORMS = ("youtube", "facebook", "instagram", "reddit", "discourse", "mastodon")
# A fixed week in the past: the fakes' timestamps never look like the future to landing.
T0 = dt.datetime(2026, 11, 16, 12, 0, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(days=1)

# The post_metrics column each fake's `views` lands in.
VIEWS_COLUMN = {
    "youtube": "video_views",
    "facebook": "impressions",
    "instagram": "impressions",
    "reddit": "reactions",
    "discourse": "impressions",
    "mastodon": "reactions",
}


@pytest.fixture(autouse=True)
def own_warehouse(tmp_path, monkeypatch):
    """Each test's warehouse is its tmp_path's, even if an earlier dbt run left TERTULIA_WAREHOUSE set
    (dbt_runner exports it for dbt's profile and never unsets it)."""
    monkeypatch.setenv("TERTULIA_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))


def make_fake(platform: str, page_size: int = 2):
    if platform in ("facebook", "instagram"):
        return FakeMeta(platform, page_size=page_size)
    return {
        "youtube": FakeYouTube,
        "reddit": FakeReddit,
        "discourse": FakeDiscourse,
        "mastodon": FakeMastodon,
    }[platform](page_size=page_size)


def seed(api) -> None:
    """Three brand posts over three days, four member comments and one brand reply."""
    api.add_post("p1", T0 - dt.timedelta(days=2), views=10)
    api.add_member_comment("c1", "p1", T0 - dt.timedelta(days=2, hours=-1), "¿Abren el domingo?")
    api.add_reply("r1", "c1", T0 - dt.timedelta(days=2, hours=-3), "¡Sí, de 8 a 14!")
    api.add_post("p2", T0 - dt.timedelta(days=1), views=20)
    api.add_member_comment("c2", "p2", T0 - dt.timedelta(days=1, hours=-1), "Great coffee")
    api.add_post("p3", T0, views=30)
    api.add_member_comment("c3", "p3", T0 + dt.timedelta(hours=1), "¿Tienen descafeinado?")
    api.add_member_comment("c4", "p3", T0 + dt.timedelta(hours=2), "Me encanta")


SEEDED_COMMENTS = ("c1", "r1", "c2", "c3", "c4")


def config_for(tmp_path: Path, fakes: dict[str, Any], **source_overrides: Any) -> Config:
    sources = {name: {**api.source_config(), **source_overrides} for name, api in fakes.items()}
    accounts = [{"platform": api.platform, "account_id": f"{api.platform}-brand"} for api in fakes.values()]
    data = {
        "community": {"name": "Test", "timezone": "America/Guayaquil"},
        "accounts": accounts,
        "warehouse": {"path": str(tmp_path / "warehouse.duckdb"), "publish_dir": str(tmp_path / "published")},
        "sources": sources,
    }
    return parse_config(data, source=tmp_path / "community.yml", base_dir=tmp_path)


class Sleeps:
    """Records every wait instead of sleeping (no timed assertions, no slow tests)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def query(config: Config, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(config.warehouse_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def comment_ids(config: Config, platform: str) -> set[str]:
    return {r[0] for r in query(config, "select comment_id from raw.comments where platform = ?", [platform])}


def expected_ids(api, names=SEEDED_COMMENTS) -> set[str]:
    # On a forum the brand's topics open with a post of their own, which is a message like any other.
    topics = ("p1", "p2", "p3") if api.platform == "discourse" and names == SEEDED_COMMENTS else ()
    return {api.record_id(n) for n in (*names, *topics)}


def ingest_and_build_sla(config: Config, source: str, now: dt.datetime) -> None:
    """Land one source at `now`, then build the SLA mart and its data tests (the marts' own unit tests
    belong to their area's suite): connector data all the way to marts.fct_sla_events."""
    from connectors.runner import run_sources
    from tertulia import pipeline, warehouse
    from tertulia.dbt_runner import run_dbt

    with warehouse.writer_lock(config.warehouse_path):
        pipeline.prepare_warehouse(config)
        report = run_sources(config, now=now, sleep=Sleeps())[source]
        assert report.status == "ok", report.message
        result = run_dbt(
            config,
            ["build", "--select", "+fct_sla_events", "--exclude", "test_type:unit"],
            as_of=now.replace(tzinfo=None),
        )
        assert result.success, [f"{n.name}: {n.message}" for n in result.failures]
