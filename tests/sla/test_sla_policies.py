"""SLA policy tables and their history."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from tertulia.config import parse_config
from tertulia.sla_policies import write_sla_policies


def _config(policies):
    return parse_config({"community": {"name": "x"}, "sla": {"policies": policies}})


V1 = [
    {
        "name": "dm_1h",
        "match": {"channel": ["dm"], "platform": ["instagram", "facebook"]},
        "target_minutes": 60,
    },
    {"name": "rest", "target_minutes": 480, "business_time": False},
]
V2 = [{"name": "rest", "target_minutes": 240}]


def test_policies_and_conditions_tables():
    con = duckdb.connect()
    assert write_sla_policies(con, _config(V1), now=dt.datetime(2026, 11, 1)) == 1
    assert con.execute("select * from config.sla_policies order by position").fetchall() == [
        (1, dt.datetime(1970, 1, 1), None, 1, "dm_1h", 60, True),
        (1, dt.datetime(1970, 1, 1), None, 2, "rest", 480, False),
    ]
    assert con.execute("select * from config.sla_policy_conditions order by field, value").fetchall() == [
        (1, "dm_1h", "channel", "dm"),
        (1, "dm_1h", "platform", "facebook"),
        (1, "dm_1h", "platform", "instagram"),
    ]


def test_unchanged_policies_keep_their_version_and_a_change_opens_a_new_one():
    con = duckdb.connect()
    write_sla_policies(con, _config(V1), now=dt.datetime(2026, 11, 1))
    assert write_sla_policies(con, _config(V1), now=dt.datetime(2026, 11, 2)) == 1
    assert write_sla_policies(con, _config(V2), now=dt.datetime(2026, 11, 3)) == 2
    assert write_sla_policies(con, _config(V2), now=dt.datetime(2026, 11, 4)) == 2
    versions = con.execute(
        "select policy_version, valid_from, valid_to from tertulia.sla_policy_versions order by 1"
    ).fetchall()
    assert versions == [
        (1, dt.datetime(1970, 1, 1), dt.datetime(2026, 11, 3)),
        (2, dt.datetime(2026, 11, 3), None),
    ]
    # Both versions stay visible to SQL, so items keep the policy in force when they arrived.
    assert con.execute(
        "select policy_version, policy_name, target_minutes from config.sla_policies order by 1, 2"
    ).fetchall() == [(1, "dm_1h", 60), (1, "rest", 480), (2, "rest", 240)]
    assert con.execute(
        "select count(*) from config.sla_policy_conditions where policy_version = 2"
    ).fetchone() == (0,)


def test_clock_going_backwards_is_a_clear_error():
    con = duckdb.connect()
    write_sla_policies(con, _config(V1), now=dt.datetime(2026, 11, 1))
    write_sla_policies(con, _config(V2), now=dt.datetime(2026, 11, 3))
    with pytest.raises(ValueError, match="check the clock"):
        write_sla_policies(con, _config(V1), now=dt.datetime(2026, 11, 2))


def test_writers_work_inside_a_callers_transaction():
    con = duckdb.connect()
    con.execute("begin transaction")
    write_sla_policies(con, _config(V1), now=dt.datetime(2026, 11, 1))
    write_sla_policies(con, _config(V2), now=dt.datetime(2026, 11, 3))
    con.execute("rollback")  # the caller decides: nothing of it stays
    con.execute("create schema if not exists tertulia")
    assert con.execute(
        "select count(*) from information_schema.tables where table_name = 'sla_policy_versions'"
    ).fetchone() == (0,)


def test_a_crash_between_opening_and_closing_versions_is_repaired():
    con = duckdb.connect()
    write_sla_policies(con, _config(V1), now=dt.datetime(2026, 11, 1))
    # what a crash right after opening version 2 leaves behind: two open versions
    con.execute(
        "insert into tertulia.sla_policy_versions values (2, 'x', '[]', timestamp '2026-11-03', null)"
    )
    write_sla_policies(con, _config(V2), now=dt.datetime(2026, 11, 4))
    assert con.execute(
        "select policy_version, valid_from, valid_to from tertulia.sla_policy_versions order by 1"
    ).fetchall() == [
        (1, dt.datetime(1970, 1, 1), dt.datetime(2026, 11, 3)),
        (2, dt.datetime(2026, 11, 3), dt.datetime(2026, 11, 4)),
        (3, dt.datetime(2026, 11, 4), None),
    ]
