"""The integer message keys of stg_social__comments (message_sk, parent_message_sk, thread_sk: hashes of
the text ids, macros/portable.sql's message_key) and the guards around them.

The intermediate models join and partition on these keys alone, so a key shared by two ids would
merge two messages or two threads silently. The tests below break a built warehouse the ways that can
happen (two ids sharing a key; stored keys made by another version of the hash) and check that the
dbt tests meant to catch each one fail and name the rows; and that a warehouse built before the keys
existed gets them on its next incremental run, the same as a full refresh gives.
"""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pytest

from tertulia import pipeline
from tertulia.config import example_config_in
from tertulia.dbt_runner import run_dbt
from tertulia.sample import write_sample

pytestmark = pytest.mark.integration

KEY_TESTS = (
    "message_keys_name_one_id message_keys_match_the_hash_function unique_stg_social__comments_message_sk"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A sample warehouse built once; each test works on its own copy."""
    tmp = tmp_path_factory.mktemp("message_keys")
    config = example_config_in(tmp / "base")
    config.warehouse_path.parent.mkdir(parents=True)
    facts = write_sample(tmp / "sample", days=5, seed=3, end=dt.date(2025, 3, 20))
    pipeline.prepare_warehouse(config)
    report = pipeline.import_files(config, tmp / "sample")
    assert not report.errors, report.errors
    pipeline.enrich(config)
    pipeline.build(config, as_of=facts.now, run_tests=False)
    return config, facts.now


def copy_of(built, tmp_path):
    config, now = built
    other = example_config_in(tmp_path / "copy")
    other.warehouse_path.parent.mkdir(parents=True)
    shutil.copy(config.warehouse_path, other.warehouse_path)
    return other, now


def key_tests(config, now) -> dict[str, tuple[str, str]]:
    """name -> (status, dbt's message: how many rows failed) of the three key tests."""
    res = run_dbt(config, ["test", "--select", KEY_TESTS], as_of=now)
    return {n.name: (n.status, n.message) for n in res.nodes if n.resource_type == "test"}


def sql(config, query: str, params=None):
    con = duckdb.connect(str(config.warehouse_path))
    try:
        return con.execute(query, params or []).fetchall()
    finally:
        con.close()


def test_the_keys_of_a_build_pass_their_tests(built, tmp_path):
    config, now = copy_of(built, tmp_path)
    results = key_tests(config, now)
    assert set(results) == set(KEY_TESTS.split()), results
    assert all(status == "pass" for status, _ in results.values()), results
    # every message has a key, a reply its parent's, and the keys are the messages' own: a reply's
    # parent_message_sk is its parent's message_sk, a message's thread_sk its thread root's
    counts = sql(
        config,
        "select count(*) filter (where c.message_sk is null),"
        " count(*) filter (where c.parent_id is not null and p.message_sk is not null),"
        " count(*) filter (where c.parent_id is not null and p.message_sk is not null"
        "   and p.comment_id = c.parent_id and p.platform = c.platform)"
        " from staging.stg_social__comments as c"
        " left join staging.stg_social__comments as p on p.message_sk = c.parent_message_sk",
    )[0]
    assert counts[0] == 0
    assert counts[1] > 0 and counts[1] == counts[2], counts


def test_two_threads_sharing_a_key_fail_the_build(built, tmp_path):
    config, now = copy_of(built, tmp_path)
    # Two threads of the sample, the second given the first's key: what a hash collision would do.
    (a_platform, a_thread, a_sk), (b_platform, b_thread) = (
        sql(
            config,
            "select platform, thread_id, thread_sk from staging.stg_social__comments"
            " group by all order by thread_id limit 1",
        )[0],
        sql(
            config,
            "select platform, thread_id from staging.stg_social__comments"
            " group by all order by thread_id desc limit 1",
        )[0],
    )
    sql(config, "update staging.stg_social__comments set thread_sk = ? where thread_id = ?", [a_sk, b_thread])
    results = key_tests(config, now)
    assert results["message_keys_name_one_id"][0] == "fail", results
    assert "Got 1 result" in results["message_keys_name_one_id"][1]  # one key, with its two ids
    con = duckdb.connect(str(config.warehouse_path))
    try:
        compiled = next(
            (config.dbt_work_dir / "target" / "compiled").rglob("message_keys_name_one_id.sql")
        ).read_text()
        rows = con.execute(compiled).fetchall()
    finally:
        con.close()
    assert rows == [(a_sk, f"{a_platform}:{a_thread}", f"{b_platform}:{b_thread}")]


def test_a_stored_key_not_made_by_todays_hash_fails_the_build(built, tmp_path):
    config, now = copy_of(built, tmp_path)
    platform, comment_id = sql(
        config, "select platform, comment_id from staging.stg_social__comments order by comment_id limit 1"
    )[0]
    # what a DuckDB release with another hash() would leave: the old rows' keys, not today's
    sql(
        config,
        "update staging.stg_social__comments set message_sk = message_sk + 1 where platform = ? and comment_id = ?",
        [platform, comment_id],
    )
    results = key_tests(config, now)
    assert results["message_keys_match_the_hash_function"][0] == "fail", results
    assert "Got 1 result" in results["message_keys_match_the_hash_function"][1]
    # the failing row, shown in the error, names the message and says what to do
    assert comment_id in results["message_keys_match_the_hash_function"][1]
    assert "run tertulia build --full-refresh" in results["message_keys_match_the_hash_function"][1]
    assert results["message_keys_name_one_id"][0] == "pass"


def test_a_warehouse_built_before_the_keys_gets_them_on_its_next_run(built, tmp_path):
    config, now = copy_of(built, tmp_path)
    expected = sql(
        config,
        "select platform, comment_id, message_sk, parent_message_sk, thread_sk"
        " from staging.stg_social__comments order by all",
    )
    turns = sql(config, "select * from intermediate.int_sla_thread_turns order by all")
    # the table as the version before the keys left it
    for column in ("message_sk", "parent_message_sk", "thread_sk"):
        sql(config, f"alter table staging.stg_social__comments drop column {column}")
    pipeline.build(config, as_of=now + dt.timedelta(minutes=5), run_tests=False)
    after = sql(
        config,
        "select platform, comment_id, message_sk, parent_message_sk, thread_sk"
        " from staging.stg_social__comments order by all",
    )
    assert after == expected
    assert sql(config, "select * from intermediate.int_sla_thread_turns order by all") == turns
    assert all(status == "pass" for status, _ in key_tests(config, now).values())
