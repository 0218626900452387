"""What BI tools read: account and team dimensions with names, one column type per field in the published
DuckDB file and in Parquet, and the dbt descriptions next to the fields."""

from __future__ import annotations

import datetime as dt
import os

import duckdb
import pytest
from engagement_rows import example_config_in, prepare_sample_warehouse

from tertulia import warehouse
from tertulia.contract import ENTITIES
from tertulia.publish import publish_marts
from tertulia.raw_schema import ensure_raw_tables, raw_table_ddl

AS_OF = dt.datetime(2026, 3, 11, 12, 0)
BI_MARTS = "+dim_accounts +dim_team +fct_post_performance +agg_engagement_daily +rpt_best_time_to_post"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from tertulia.dbt_runner import build

    cfg = example_config_in(tmp_path_factory.mktemp("bi_tables"))
    prepare_sample_warehouse(cfg)
    build(cfg, select=BI_MARTS, as_of=AS_OF)  # raises DbtError naming any failing node
    os.environ.pop("TERTULIA_WAREHOUSE", None)
    publish_marts(cfg)
    con = duckdb.connect(str(cfg.publish_dir / "tertulia_marts.duckdb"), read_only=True)
    yield cfg, con
    con.close()


@pytest.mark.integration
def test_accounts_dimension_names_each_account_and_its_owner(published):
    _, con = published
    rows = con.execute(
        "select account_key, handle, account_name, owner_member_id, owner_name, is_configured "
        "from dim_accounts order by account_key"
    ).fetchall()
    # community.example.yml configures six accounts (the Discord server, the mailbox and the Telegram group
    # with the three social ones); the sample's team export knows only tm-ana
    assert rows == [
        ("discord:dsc-cafetertulia", "tertulia-bot", "Café Tertulia Club", "tm-luis", None, True),
        ("email:em-soporte", "soporte@cafetertulia.ec", "Soporte Café Tertulia", "tm-sofia", None, True),
        ("facebook:fb-cafetertulia", "CafeTertuliaQuito", "Café Tertulia Quito", "tm-luis", None, True),
        ("instagram:ig-cafetertulia", "cafetertulia", "Café Tertulia", "tm-ana", "Ana", True),
        ("telegram:tg-cafetertulia", "cafetertulia_bot", "Café Tertulia Comunidad", "tm-ana", "Ana", True),
        ("youtube:yt-cafetertulia", "@cafetertulia", "Café Tertulia TV", "tm-sofia", None, True),
    ]


@pytest.mark.integration
def test_team_dimension_keeps_staff_ids_readable_and_counts_owned_accounts(published):
    _, con = published
    rows = con.execute(
        "select team_member_id, display_name, role, slack_user_id, accounts_owned, owned_account_keys from dim_team"
    ).fetchall()
    # tm-ana owns the Instagram account and, since the example added it, the Telegram group
    assert rows == [("tm-ana", "Ana", None, "U01", 2, "instagram:ig-cafetertulia, telegram:tg-cafetertulia")]


@pytest.mark.integration
def test_published_file_and_parquet_have_the_same_types(published):
    cfg, con = published
    marts = [r[0] for r in con.execute("select mart from published_marts order by mart").fetchall()]
    assert {"dim_accounts", "dim_team", "fct_post_performance", "agg_engagement_daily"} <= set(marts)
    for mart in marts:
        in_db = con.execute(f'select column_name, column_type from (describe "{mart}")').fetchall()
        parquet = (cfg.publish_dir / "parquet" / f"{mart}.parquet").as_posix()
        in_pq = con.execute(
            f"select column_name, column_type from (describe select * from read_parquet('{parquet}'))"
        ).fetchall()
        assert in_db == in_pq, mart
        for name, type_ in in_db:
            assert type_ != "HUGEINT", (mart, name)
            if name.endswith("_at") and "local" not in name:
                assert type_ == "TIMESTAMP WITH TIME ZONE", (mart, name)
            if name.endswith("_local"):
                assert type_ == "TIMESTAMP", (mart, name)


@pytest.mark.integration
def test_utc_instants_and_local_wall_clock_keep_their_meaning(published):
    _, con = published
    # p1 was published 2026-03-02 14:00 in Guayaquil (UTC-5): 19:00 UTC as an instant, 14:00 on the wall
    epoch, local = con.execute(
        "select epoch(published_at), published_local from fct_post_performance where post_id = 'p1'"
    ).fetchone()
    assert epoch == dt.datetime(2026, 3, 2, 19, 0, tzinfo=dt.UTC).timestamp()
    assert local == dt.datetime(2026, 3, 2, 14, 0)


@pytest.mark.integration
def test_descriptions_reach_the_published_file(published):
    _, con = published
    table_comment = con.execute(
        "select comment from duckdb_tables() where table_name = 'dim_team'"
    ).fetchone()[0]
    assert table_comment.startswith("The community team, one row per member")
    column_comment = con.execute(
        "select comment from duckdb_columns() where table_name = 'dim_accounts' and column_name = 'account_key'"
    ).fetchone()[0]
    assert column_comment == "`platform:account_id`, one text key for BI joins."


def test_a_contract_column_added_later_is_added_to_an_existing_raw_table(tmp_path):
    con = warehouse.connect(tmp_path / "old.duckdb")
    try:
        con.execute("create schema if not exists raw")
        con.execute("drop table if exists raw.team")
        old_team = ENTITIES["team"].columns[:-1]  # the team table as created before `role` existed
        assert ENTITIES["team"].columns[-1].name == "role"
        ddl = raw_table_ddl(ENTITIES["team"]).replace(', "role" varchar', "")
        assert len(old_team) == 5 and '"role"' not in ddl
        con.execute(ddl)
        con.execute("insert into raw.team (member_id, name) values ('tm-1', 'Ana')")
        ensure_raw_tables(con)
        assert con.execute("select member_id, name, role from raw.team").fetchall() == [("tm-1", "Ana", None)]
    finally:
        con.close()


@pytest.mark.integration
def test_published_marts_name_the_zone_of_the_local_columns(published):
    # A BI tool cannot read community.yml: the zone of every `*_local` column travels with the data.
    _, con = published
    rows = set(con.execute("select community_name, timezone from published_marts").fetchall())
    assert rows == {("Café Tertulia", "America/Guayaquil")}  # community.example.yml
