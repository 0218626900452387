"""The project's merged data tests still fail on a planted bad row, naming what is wrong.

`not_null_columns` (dbt_project/tests/generic) replaced one dbt `not_null` node per column by one node
per relation (fewer dbt nodes, one pass over the relation; docs/benchmarks.md, round two, fifth pass).
The sample is built with every test passing; then, in every relation such a test guards, each listed
column gets one null (in a row of its own where the relation has enough rows), and the tests run
again: each must fail with exactly one row per column, naming it, with one null row. The relations
and columns come from dbt's manifest, so a test added later is covered without touching this file.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import duckdb
import pytest

from tertulia import pipeline
from tertulia.config import example_config_in
from tertulia.dbt_runner import run_dbt
from tertulia.sample import write_sample

pytestmark = pytest.mark.integration

AS_OF = dt.datetime(2025, 3, 20, 12, 0)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The sample (30 days), imported, enriched and built with every model and test."""
    tmp = tmp_path_factory.mktemp("merged_tests")
    write_sample(tmp / "bundle", days=30, seed=5, end=AS_OF.date())
    config = example_config_in(tmp)
    pipeline.prepare_warehouse(config)
    pipeline.import_files(config, tmp / "bundle")
    pipeline.enrich(config)
    result = pipeline.build(config, as_of=AS_OF, full_refresh=True)  # raises on any failing test
    assert result.success
    return config


def _not_null_tests(config) -> dict[str, tuple[str, str, list[str]]]:
    """test name -> (schema, relation, columns) of every not_null_columns test in dbt's manifest."""
    manifest = json.loads((config.dbt_work_dir / "target" / "manifest.json").read_text(encoding="utf-8"))
    out = {}
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata") or {}
        if node["resource_type"] != "test" or meta.get("name") != "not_null_columns":
            continue
        (model_id,) = node["depends_on"]["nodes"]
        model = manifest["nodes"][model_id]
        out[node["name"]] = (model["schema"], model["alias"], list(meta["kwargs"]["columns"]))
    return out


def test_not_null_columns_fail_on_a_planted_null_per_column(built, tmp_path):
    config = built
    tests = _not_null_tests(config)
    # every guarded relation of the three layers: a manifest walk that found nothing would pass
    assert len(tests) >= 40
    assert {"not_null_stg_social__posts", "not_null_fct_sla_events", "not_null_dim_members"} <= set(tests)

    # Plant on a copy, so the built warehouse stays as built.
    planted = example_config_in(tmp_path)
    shutil.copy(config.warehouse_path, planted.warehouse_path)
    con = duckdb.connect(str(planted.warehouse_path))
    try:
        # First every guarded view as a table of the same name (its rows as built), then the nulls: a
        # view read after a null was planted in the relation under it would count that null again.
        for schema, relation, _ in tests.values():
            kind = con.execute(
                "select table_type from information_schema.tables where table_schema = ? and table_name = ?",
                [schema, relation],
            ).fetchone()[0]
            if kind == "VIEW":
                con.execute(f'create table {schema}.planted_copy as select * from "{schema}"."{relation}"')
                con.execute(f'drop view "{schema}"."{relation}"')
                con.execute(f'alter table {schema}.planted_copy rename to "{relation}"')
        for schema, relation, columns in tests.values():
            rel = f'"{schema}"."{relation}"'
            rows = con.execute(f"select count(*) from {rel}").fetchone()[0]
            if rows == 0:
                con.execute(f"insert into {rel} default values")  # one row, null in every column
                continue
            for k, column in enumerate(columns):
                # column k null in row k (cycling when the relation has fewer rows than columns)
                con.execute(
                    f'update {rel} set "{column}" = null where rowid = '
                    f"(select rowid from {rel} order by rowid limit 1 offset ?)",
                    [k % rows],
                )
    finally:
        con.close()

    res = run_dbt(
        planted, ["test", "--select", "test_name:not_null_columns", "--store-failures"], as_of=AS_OF
    )
    by_name = {n.name: n for n in res.nodes if n.resource_type == "test"}
    assert set(by_name) == set(tests)
    for name, (_, _, columns) in tests.items():
        assert by_name[name].status == "fail", name
        message = by_name[name].message
        assert message.startswith(f"Got {len(columns)} result"), (name, message)
        # run_dbt adds the first five failing rows to dbt's count: the columns, each with its one null
        shown = re.findall(r"column_name=(\w+), null_rows=(\d+)", message)
        assert len(shown) == min(len(columns), 5), (name, message)
        assert all(column in columns and n == "1" for column, n in shown), (name, message)

    # The failing rows, as --store-failures kept them: each planted column named, with its one null.
    con = duckdb.connect(str(planted.warehouse_path), read_only=True)
    try:
        for name, (_, relation, columns) in tests.items():
            (schema,) = con.execute(
                "select table_schema from information_schema.tables where table_name = ? and table_schema like '%audit%'",
                [name],
            ).fetchone()
            got = con.execute(f'select column_name, null_rows from "{schema}"."{name}"').fetchall()
            assert sorted(got) == sorted((c, 1) for c in columns), (relation, got)
    finally:
        con.close()
