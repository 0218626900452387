"""A tiny hand-built community for the engagement tests: every expected number is computed by hand.

Community timezone America/Guayaquil (UTC-5, no DST). Instagram account ig-cafetertulia only.

Posts (local publish time):
  p1  Mon 2026-03-02 14:00  photo, campaign 'lanzamiento'
  p2  Tue 2026-03-03 09:00  video
  p3  Mon 2026-03-09 14:10  photo (planned for 14:00 -> on time)
Snapshots (lifetime; UTC):
  p1  03-02 20:00 impr 100 reac 5 com 1 shr 0 | 03-03 18:00 impr 300 reac 12 com 2 shr 1
      | 03-10 18:00 impr 500 reac 20 com 3 shr 2
  p2  03-03 20:00 impr 200 reac 2           | 03-04 20:00 impr 400 reac 10 shr 2
  p3  03-09 22:00 impr 100 reac 10 com 2 shr 0
Daily deltas per local day (interactions / post impressions):
  03-02: p1 6 / 100
  03-03: p1 (12-5)+(2-1)+(1-0)=9 / 200 and p2 2 / 200 -> 11 / 400
  03-04: p2 8+2=10 / 200
  03-09: p3 12 / 100
  03-10: p1 8+1+1=10 / 200
March engagement rate = (6+11+10+12+10) / (100+400+200+100+200) = 49 / 1000 = 0.049
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml

from tertulia import warehouse
from tertulia.config import Config, parse_config
from tertulia.config_tables import sync_config_tables
from tertulia.raw_schema import ensure_raw_tables

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "community.example.yml"

ACCOUNT = ("instagram", "ig-cafetertulia")

ACCOUNT_METRICS = [
    # date, followers, impressions, reach
    ("2026-03-01", 1000, 900, 500),
    ("2026-03-02", 1010, 1500, 700),
    ("2026-03-03", 1015, 1800, 800),
    ("2026-03-05", 1030, 1000, 600),
]

POSTS = [
    # post_id, published_at (local, no offset), content_type, campaign
    ("p1", "2026-03-02T14:00:00", "photo", "lanzamiento"),
    ("p2", "2026-03-03T09:00:00", "video", ""),
    ("p3", "2026-03-09T14:10:00", "photo", ""),
]

POST_METRICS = [
    # post_id, captured_at (UTC), impressions, reach, reactions, comments, shares
    ("p1", "2026-03-02T20:00:00Z", 100, 90, 5, 1, 0),
    ("p1", "2026-03-03T18:00:00Z", 300, 250, 12, 2, 1),
    ("p1", "2026-03-10T18:00:00Z", 500, 400, 20, 3, 2),
    ("p2", "2026-03-03T20:00:00Z", 200, 150, 2, 0, 0),
    ("p2", "2026-03-04T20:00:00Z", 400, 300, 10, 0, 2),
    ("p3", "2026-03-09T22:00:00Z", 100, 80, 10, 2, 0),
]

CALENDAR = [
    # planned_id, planned_at (local), post_id
    ("cal-1", "2026-03-02T14:00:00", "p1"),  # on time
    ("cal-2", "2026-03-03T08:00:00", "p2"),  # 60 min late
    ("cal-3", "2026-03-09T14:00:00", "p3"),  # 10 min late: on time
    ("cal-4", "2026-03-06T10:00:00", ""),  # never published: missed
]

TEAM = [("tm-ana", "Ana", "ana@example.org", "U01", "instagram:ana.cafe")]

COMMENTS = [
    # comment_id, post_id, parent_id, author_id, author_name, created_at (local), channel, like_count
    ("c1", "p1", "", "u-maria", "María", "2026-03-02T15:00:00", "comment", 3),
    ("c2", "p1", "c1", "ana.cafe", "Ana (team)", "2026-03-02T15:30:00", "reply", 0),
    ("c3", "p1", "c1", "u-jorge", "Jorge", "2026-03-02T16:00:00", "reply", 2),
    ("c4", "p2", "", "u-maria", "María", "2026-03-03T10:00:00", "comment", 0),
    ("c5", "p2", "", "u-lucia", "Lucía", "2026-03-03T11:00:00", "review", 1),
    ("c6", "p2", "c5", "ig-cafetertulia", "Café Tertulia", "2026-03-03T11:20:00", "reply", 0),
]


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], rows: list[tuple]) -> None:
    cols = columns + ["_loaded_at"]
    placeholders = ", ".join("?" for _ in cols)
    for row in rows:
        values = [None if v is None else str(v) for v in row] + ["2026-03-11 00:00:00"]
        con.execute(f"insert into raw.{table} ({', '.join(cols)}) values ({placeholders})", values)


def land_sample(con: duckdb.DuckDBPyConnection) -> None:
    platform, account = ACCOUNT
    _insert(
        con,
        "accounts",
        ["platform", "account_id", "handle", "name"],
        [(platform, account, "cafetertulia", "Café Tertulia")],
    )
    _insert(
        con,
        "account_metrics",
        ["platform", "account_id", "date", "followers", "impressions", "reach"],
        [(platform, account, *r) for r in ACCOUNT_METRICS],
    )
    _insert(
        con,
        "posts",
        [
            "platform",
            "post_id",
            "account_id",
            "published_at",
            "message",
            "content_type",
            "permalink",
            "campaign",
        ],
        [
            (platform, pid, account, ts, f"post {pid}", ct, f"https://example.org/{pid}", camp)
            for pid, ts, ct, camp in POSTS
        ],
    )
    _insert(
        con,
        "post_metrics",
        [
            "platform",
            "post_id",
            "captured_at",
            "impressions",
            "reach",
            "reactions",
            "comments",
            "shares",
            "saves",
            "clicks",
            "video_views",
        ],
        [
            (platform, pid, ts, imp, rch, reac, com, shr, 0, 0, None)
            for pid, ts, imp, rch, reac, com, shr in POST_METRICS
        ],
    )
    _insert(
        con,
        "content_calendar",
        ["planned_id", "platform", "account_id", "planned_at", "topic", "content_type", "owner", "post_id"],
        [(pid, platform, account, ts, f"topic {pid}", "photo", "tm-ana", post) for pid, ts, post in CALENDAR],
    )
    _insert(con, "team", ["member_id", "name", "email", "slack_user_id", "handles"], TEAM)
    _insert(
        con,
        "comments",
        [
            "platform",
            "comment_id",
            "post_id",
            "parent_id",
            "thread_id",
            "author_id",
            "author_name",
            "created_at",
            "updated_at",
            "message",
            "channel",
            "like_count",
        ],
        [
            (platform, cid, post, parent, "", author, name, ts, ts, f"mensaje {cid}", ch, likes)
            for cid, post, parent, author, name, ts, ch, likes in COMMENTS
        ],
    )


def add_more_posts(con: duckdb.DuckDBPyConnection, start: int, n: int) -> None:
    """Posts x<start>..x<start+n-1>, without metrics, landed between two pipeline runs."""
    platform, account = ACCOUNT
    _insert(
        con,
        "posts",
        [
            "platform",
            "post_id",
            "account_id",
            "published_at",
            "message",
            "content_type",
            "permalink",
            "campaign",
        ],
        [
            (platform, f"x{i}", account, f"2026-03-1{i % 9}T10:00:00", "more", "photo", "", "")
            for i in range(start, start + n)
        ],
    )


def example_config_in(folder: Path) -> Config:
    """community.example.yml with its warehouse and publish folder moved into `folder` (module-scoped use)."""
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    data["warehouse"] = {
        **data.get("warehouse", {}),
        "path": str(folder / "warehouse.duckdb"),
        "publish_dir": str(folder / "published"),
    }
    data["bundle_dir"] = None
    return parse_config(data, source=EXAMPLE_CONFIG, base_dir=folder)


def prepare_sample_warehouse(config: Config) -> None:
    con = warehouse.connect(config.warehouse_path)
    try:
        ensure_raw_tables(con)
        sync_config_tables(con, config)
        land_sample(con)
    finally:
        con.close()
