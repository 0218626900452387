"""Small warehouses for the quality tests: a few raw rows and hand-made marts with known values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tertulia import warehouse
from tertulia.config import Config, example_config_in
from tertulia.raw_schema import ensure_raw_tables

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 21, 12, 0)  # the run's instant, UTC


def config_in(tmp: Path) -> Config:
    return example_config_in(tmp)


def good_warehouse(config: Config):
    """Raw rows and marts that satisfy every expectation. Returns an open connection."""
    con = warehouse.connect(config.warehouse_path)
    ensure_raw_tables(con)
    con.execute(
        """
        insert into raw.comments (platform, comment_id, author_id, created_at, channel, like_count, _loaded_at)
        values ('instagram', 'c1', 'a1', '2026-11-20T10:00:00', 'comment', '3', timestamp '2026-11-20 12:00'),
               ('instagram', 'c2', 'a2', '2026-11-20T10:00:00-05:00', 'dm', '0', timestamp '2026-11-20 12:00')
        """
    )
    con.execute(
        """
        insert into raw.post_metrics (platform, post_id, captured_at, impressions, reach, _loaded_at)
        values ('instagram', 'p1', '2026-11-20T08:00:00Z', '100', '80', timestamp '2026-11-20 12:00')
        """
    )
    con.execute("create schema if not exists marts")
    con.execute(
        """
        create table marts.fct_sla_events (sla_event_id varchar, status varchar, target_minutes integer,
            calendar_minutes_to_respond double, business_minutes_to_respond double,
            arrived_at timestamp, first_response_at timestamp, sla_breach_at timestamp)
        """
    )
    con.execute(
        """
        insert into marts.fct_sla_events values
            ('instagram:c1', 'met', 480, 10.0, 5.0, timestamp '2026-11-20 15:00', timestamp '2026-11-20 15:10',
             timestamp '2026-11-21 14:00'),
            ('instagram:c2', 'pending', 60, null, null, timestamp '2026-11-20 15:00', null, timestamp '2026-11-20 16:00')
        """
    )
    con.execute(
        """
        create table marts.fct_crisis_signals as select * from (values
            ('instagram:ig-cafetertulia:2026-11-20T10', timestamp '2026-11-20 10:00', 12, 3, 2.0, 4.0, 0.25, 1)
        ) t(signal_key, hour_at, inbound_count, negative_count, volume_baseline, volume_ratio, negative_share,
            keyword_count_window)
        """
    )
    con.execute(
        """
        create table marts.agg_engagement_daily as select * from (values
            ('instagram:ig-cafetertulia:2026-11-20', date '2026-11-20', 100::bigint, 80::bigint, 60::bigint,
             3::bigint, 0.05::double)
        ) t(engagement_day_key, metric_date, impressions, reach, post_impressions, interactions, engagement_rate)
        """
    )
    return con
