"""The weekly report from hand-made marts: local week bounds, units, goals pro-rated, crises counted once,
and one Slack message per week."""

from __future__ import annotations

import datetime as dt

import duckdb

from tertulia import pipeline, warehouse
from tertulia.weekly import last_complete_week, to_markdown, weekly_report

WEEK = dt.date(2026, 11, 16)  # Mon 16 .. Sun 22 Nov in Guayaquil (UTC-5): 16 Nov 05:00 .. 23 Nov 05:00 UTC


def build_marts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists marts")
    con.execute(
        "create table marts.fct_sla_events (sla_event_id varchar, arrived_at timestamp, first_response_at timestamp, "
        "status varchar, business_minutes_to_respond double, is_breached boolean, sla_breach_at timestamp)"
    )
    con.execute("""insert into marts.fct_sla_events values
        ('a', '2026-11-16 14:00', '2026-11-16 14:30', 'met', 20, false, '2026-11-16 15:00'),
        ('b', '2026-11-20 20:00', '2026-11-21 13:00', 'breached', 100, true, '2026-11-20 21:00'),
        ('c', '2026-11-23 04:00', null, 'at_risk', null, false, '2026-11-24 15:00'),  -- local Sun 22nd 23:00
        ('d', '2026-11-16 04:00', '2026-11-16 04:05', 'met', 5, false, '2026-11-16 06:00'),  -- local Sun 15th
        -- arrived the week before (local Sun 15th 07:00), its deadline passed on Mon 16th: a deadline of
        -- the week, not one of the week's messages
        ('e', '2026-11-15 12:00', null, 'breached', null, true, '2026-11-16 13:00')
    """)
    con.execute(
        "create table marts.agg_engagement_daily (metric_date date, interactions bigint, post_impressions bigint, "
        "net_follower_change bigint)"
    )
    con.execute("""insert into marts.agg_engagement_daily values
        ('2026-11-16', 50, 1000, 3), ('2026-11-22', 30, 1000, 2),   -- this week: 80 / 2000 = 4.00 %
        ('2026-11-10', 20, 1000, 1),                                -- the week before: 2.00 %
        ('2026-11-23', 999, 1, 0)                                   -- next week: not counted
    """)
    con.execute("create table marts.dim_members (member_key varchar, first_seen_at timestamp)")
    con.execute("""insert into marts.dim_members values
        ('m1', '2026-11-16 06:00'), ('m2', '2026-11-23 04:59'), ('m3', '2026-11-16 04:59')""")
    con.execute(
        "create table marts.fct_crisis_incidents (platform varchar, account_id varchar, "
        "started_at timestamp, last_fired_at timestamp, ended_at timestamp)"
    )
    # one row per crisis and account (the mart merges the signals); the community-wide view is its own
    # mart, not read here
    con.execute("""insert into marts.fct_crisis_incidents values
        ('instagram', 'ig', '2026-11-17 15:00', '2026-11-18 11:00', '2026-11-18 14:00'),
        ('instagram', 'ig', '2026-11-20 10:00', '2026-11-20 11:00', '2026-11-20 14:00'),     -- 2 days later: another
        ('facebook', 'fb', '2026-11-12 10:00', '2026-11-16 05:00', '2026-11-16 08:00')       -- started the week before
    """)
    con.execute(
        "create table marts.fct_goal_progress (goal_name varchar, metric varchar, period varchar, "
        "period_start_date date, actual double, target double, target_to_date double, is_on_track boolean, "
        "is_current_period boolean)"
    )
    con.execute("""insert into marts.fct_goal_progress values
        ('90 % of SLAs met', 'sla_met_share', 'month', '2026-11-01', 0.65, 0.9, 0.9, false, true),
        ('Followers +5 % a quarter', 'follower_growth', 'quarter', '2026-10-01', 0.044, 0.05, 0.032, true, true),
        ('90 % of SLAs met', 'sla_met_share', 'month', '2026-10-01', 0.95, 0.9, 0.9, true, false)
    """)
    con.execute(
        "create table marts.rpt_top_contributors_monthly (month_start_date date, member_name varchar, "
        "platform varchar, activity_score double, messages bigint, activity_rank bigint)"
    )
    # Luis ranks first with fewer messages: 9 replies at weight 1.5 are 13.5 points, Ana's 12 comments 12.
    con.execute("""insert into marts.rpt_top_contributors_monthly values
        ('2026-11-01', 'Luis', 'facebook', 13.5, 9, 1), ('2026-11-01', 'Ana | Admin', 'instagram', 12, 12, 2),
        ('2026-10-01', 'Old', 'instagram', 99, 99, 1)""")
    con.execute(
        "create table marts.fct_trending_terms (platform varchar, account_id varchar, period varchar, "
        "period_start date, term varchar, surface varchar, kind varchar, trend varchar, score double, "
        "mentions bigint, authors bigint, baseline_authors bigint, negative_share double, "
        "example_comment_key_1 varchar, example_comment_key_2 varchar)"
    )
    con.execute("""insert into marts.fct_trending_terms values
        ('all', 'all', 'week', '2026-11-16', 'geish reserv', 'geisha reserva', 'phrase', 'rising', 4.2, 60, 57, 34, 0.74, 'ig:1', 'ig:2'),
        ('all', 'all', 'week', '2026-11-16', 'geish', 'geisha', 'word', 'rising', 4.2, 60, 57, 34, 0.74, 'ig:1', 'ig:2'),  -- inside the phrase
        ('all', 'all', 'week', '2026-11-16', 'vidri', 'vidrio', 'word', 'emerging', 8.4, 98, 81, 0, 0.93, 'ig:3', null),
        ('all', 'all', 'week', '2026-11-16', 'caf', 'café', 'word', 'stable', 0.1, 300, 200, 800, 0.1, 'ig:4', 'ig:5'),
        ('instagram', 'ig', 'week', '2026-11-16', 'nitro', 'nitro', 'word', 'emerging', 9.0, 9, 9, 0, 0.0, 'ig:6', null),  -- one account
        ('all', 'all', 'week', '2026-11-09', 'otro', 'otro', 'word', 'emerging', 9.0, 9, 9, 0, 0.0, 'ig:7', null),  -- week before
        ('all', 'all', 'day', '2026-11-16', 'dia', 'día', 'word', 'emerging', 9.0, 9, 9, 0, 0.0, 'ig:8', null)  -- a day
    """)


def test_last_complete_week_follows_the_local_calendar(example_config):
    # Mon 23 Nov 08:00 in Guayaquil: the week just ended is 16..22 Nov
    assert last_complete_week(dt.datetime(2026, 11, 23, 13, 0), example_config) == WEEK
    # 23 Nov 04:00 UTC is still Sunday 22nd 23:00 locally: the last complete week is 9..15 Nov
    assert last_complete_week(dt.datetime(2026, 11, 23, 4, 0), example_config) == dt.date(2026, 11, 9)


def test_weekly_numbers_match_hand_computed(example_config):
    con = warehouse.connect(example_config.warehouse_path)
    try:
        build_marts(con)
        report = weekly_report(con, example_config, WEEK)
    finally:
        con.close()
    assert report.facts == [
        ("Messages to answer", "3, 67 % answered"),  # a, b, c; d arrived on the 15th locally
        ("SLAs met", "50 % (1 of 2 decided)"),  # a met, b breached, c still open
        ("SLAs missed", "1 (2 deadlines passed this week)"),  # b of the week's; b and e passed in it
        ("Median first response", "60 business min"),  # median of 20 and 100
        ("At risk right now", "1"),
        ("Engagement rate", "4.00 % (+2.00 points on the week before)"),
        ("Followers", "+5"),
        ("New members", "2"),
        ("Crisis episodes", "2, on 1 account"),
        ("Goals on track", "1 of 2"),
    ]
    # highest score first; 34 members over the 4 baseline weeks is 8.5 a week; "geisha" is in the phrase
    assert report.rising_line() == (
        "Rising this week: vidrio (81 members, new, 93 % negative); "
        "geisha reserva (57 members, up from 8.5 a week, 74 % negative)"
    )
    md = to_markdown(report)
    assert "## Rising this week" in md
    assert "| vidrio | word | 81 | new | 98 | 93 % negative |" in md
    assert "| geisha reserva | phrase | 57 | up from 8.5 a week | 60 | 74 % negative |" in md
    assert "| geisha |" not in md and "nitro" not in md and "otro" not in md and "día" not in md
    assert "**Mon 16 Nov – Sun 22 Nov 2026 (America/Guayaquil)**" in md
    assert "| 90 % of SLAs met | Nov 2026 | 65 % | 90 % | 90 % | no |" in md
    assert "| Followers +5 % a quarter | Q4 2026 | +4.4 % | +3.2 % | +5.0 % | yes |" in md
    assert "1. Luis (facebook, 13.5 pts, 9 messages)\n2. Ana \\| Admin (instagram, 12 pts, 12 messages)" in md


def test_weekly_report_degrades_when_marts_are_missing(example_config):
    con = warehouse.connect(example_config.warehouse_path)
    try:
        report = weekly_report(con, example_config, WEEK)
    finally:
        con.close()
    assert report.facts == [
        ("Response times", "n/a (fct_sla_events not built)"),
        ("Engagement", "n/a (agg_engagement_daily not built)"),
    ]
    assert report.rising_line() == "Rising this week: n/a (fct_trending_terms not built)"
    assert report.goals == [] and report.top_members == [] and report.rising == []
    assert "## Rising this week" not in to_markdown(report)


def test_weekly_report_goes_to_the_digest_channel_once_a_week(example_config):
    con = warehouse.connect(example_config.warehouse_path)
    try:
        build_marts(con)
    finally:
        con.close()
    pipeline.prepare_warehouse(example_config)
    monday = dt.datetime(2026, 11, 23, 13, 0)
    markdown, first = pipeline.weekly_report(example_config, now=monday)
    _, second = pipeline.weekly_report(example_config, now=monday + dt.timedelta(hours=1))
    assert "Crisis episodes | 2, on 1 account" in markdown
    con = warehouse.connect(example_config.warehouse_path, read_only=True)
    try:
        rows = con.execute("select dedupe_key, kind, channel from tertulia.alert_outbox").fetchall()
        listed = con.execute("select payload->'extra'->>'list' from tertulia.alert_outbox").fetchall()
    finally:
        con.close()
    assert rows == [("weekly:2026-W47", "digest", "#community")]
    # the week's rising terms go on the message's list line (the ten fact fields are taken)
    assert listed == [("Rising this week: vidrio (81 members, new, 93 % negative); "
                       "geisha reserva (57 members, up from 8.5 a week, 74 % negative)",)]  # fmt: skip
