"""Where the warehouse is: a DuckDB file, or a PostgreSQL server named by a postgresql:// URL.

The URL comes from TERTULIA_WAREHOUSE (which may carry a password: the environment is where secrets
live) or from community.yml's `warehouse.url` (which must not: the file is shared). The steps that run on
DuckDB only say so, naming the server, instead of opening a file named like the URL.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tertulia import warehouse
from tertulia.config import ConfigError, load_config, parse_config
from tertulia.warehouse import NotOnPostgres, PostgresWarehouse, postgres_warehouse

REPO = Path(__file__).resolve().parents[2]


def _example(**warehouse_keys) -> dict:
    data = yaml.safe_load((REPO / "community.example.yml").read_text(encoding="utf-8"))
    data["warehouse"] = {**data.get("warehouse", {}), **warehouse_keys}
    return data


def test_a_password_in_community_yml_is_refused_naming_the_key(tmp_path):
    data = _example(url="postgresql://tertulia:s3cret@db.example.org:5432/tertulia")
    with pytest.raises(ConfigError) as err:
        parse_config(data, source=Path("community.yml"))
    text = str(err.value)
    assert text.startswith("community.yml:")
    assert "warehouse.url holds a password" in text
    assert "PGPASSWORD" in text
    assert "s3cret" not in text  # the message does not repeat the secret it refuses


def test_a_password_as_a_query_parameter_is_refused_too_and_hidden_where_allowed():
    with pytest.raises(ConfigError, match="warehouse.url holds a password"):
        parse_config(
            _example(url="postgresql://u@h/db?sslmode=require&password=s3cret"), source=Path("c.yml")
        )
    where = postgres_warehouse(
        "postgresql://u@h/db?sslmode=require&password=s3cret",
        where="TERTULIA_WAREHOUSE",
        password_allowed=True,
    )
    assert where.shown == "postgresql://u@h/db?sslmode=require&password=***"
    assert where.libpq_env()["PGPASSWORD"] == "s3cret"


def test_a_url_that_is_not_postgresql_is_refused():
    with pytest.raises(ConfigError, match="warehouse.url: 'mysql://db/x' is not a postgresql:// URL"):
        parse_config(_example(url="mysql://db/x"), source=Path("community.yml"))


def test_warehouse_url_without_password_selects_postgresql(monkeypatch, tmp_path):
    monkeypatch.delenv("TERTULIA_WAREHOUSE", raising=False)
    cfg = parse_config(
        _example(url="postgresql://tertulia@db.example.org:6543/team"), source=tmp_path / "c.yml"
    )
    assert cfg.on_postgres
    assert cfg.warehouse_location == PostgresWarehouse("postgresql://tertulia@db.example.org:6543/team")
    # the local work files stay beside warehouse.path (data/ of the config's folder)
    assert cfg.dbt_work_dir == (tmp_path / "data" / "dbt").resolve()
    with pytest.raises(NotOnPostgres, match=r"PostgreSQL \(postgresql://tertulia@db.example.org:6543/team\)"):
        cfg.warehouse_path  # noqa: B018


def test_the_environment_url_wins_and_may_carry_the_password(monkeypatch):
    monkeypatch.setenv("TERTULIA_WAREHOUSE", "postgresql://bi:pw123@10.0.0.5/wh")
    cfg = load_config(REPO / "community.example.yml")
    where = cfg.warehouse_location
    assert isinstance(where, PostgresWarehouse)
    assert where.shown == "postgresql://bi:***@10.0.0.5/wh"
    assert str(where) == where.shown  # what messages and logs print
    # what the dbt profile's postgres target reads: the URL's parts; no port in the URL, none set
    assert where.libpq_env() == {
        "PGHOST": "10.0.0.5",
        "PGUSER": "bi",
        "PGPASSWORD": "pw123",
        "PGDATABASE": "wh",
    }


def test_a_path_in_the_environment_is_still_a_duckdb_file(monkeypatch, tmp_path):
    monkeypatch.setenv("TERTULIA_WAREHOUSE", str(tmp_path / "w.duckdb"))
    cfg = load_config(REPO / "community.example.yml")
    assert not cfg.on_postgres
    assert cfg.warehouse_location == cfg.warehouse_path == tmp_path / "w.duckdb"
    assert cfg.dbt_work_dir == tmp_path / "dbt"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://h:notaport/db", "not a valid postgresql:// URL"),
        ("http://h/db", "not a postgresql:// URL"),
    ],
)
def test_malformed_urls_name_where_they_were_written(url, expected):
    with pytest.raises(ValueError, match=expected) as err:
        postgres_warehouse(url, where="TERTULIA_WAREHOUSE", password_allowed=True)
    assert str(err.value).startswith("TERTULIA_WAREHOUSE: ")


def test_the_postgresql_connection_takes_duckdb_parameters_and_leaves_quoted_text_alone():
    # `?` and `$name` become psycopg2's; `%` doubled (psycopg2 reads it back as one); text inside
    # quotes, doubled quotes and `::` casts left as written
    sql = "select 'it''s ?%', \"a?\" from t where x = ? and y like '%z' and z = $now and w::int % 2 = 1"
    text, params = warehouse._translate(sql, [1])
    assert text == (
        "select 'it''s ?%%', \"a?\" from t where x = %s and y like '%%z' and z = %(now)s and w::int %% 2 = 1"
    )
    assert params == [1]
    assert warehouse._translate("select 1", None) == ("select 1", [])


def test_an_unreachable_server_says_what_to_check():
    # port 1 on localhost: refused at once, no waiting on a timeout
    where = PostgresWarehouse("postgresql://nobody:pw@127.0.0.1:1/x?connect_timeout=2")
    with pytest.raises(ConnectionError) as err:
        where.connect()
    assert "cannot connect to the PostgreSQL warehouse postgresql://nobody:***@127.0.0.1:1/x" in str(
        err.value
    )
    assert "PGPASSWORD" in str(err.value)
    # libpq's "Is the server running ... accepting TCP/IP connections?" on one line, without "?."
    assert "\n" not in str(err.value) and "?." not in str(err.value)
    assert str(err.value).endswith("or the user and password in the URL.")
    assert "pw@" not in str(err.value)


def test_commands_that_run_on_duckdb_only_refuse_a_postgresql_warehouse_up_front(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from tertulia.cli import app

    monkeypatch.setenv("TERTULIA_WAREHOUSE", "postgresql://team:pw123@db.example.org/wh")
    config = str(REPO / "community.example.yml")
    # (`import`, `ingest`, `run`, `status`, `quarantine` run on PostgreSQL: tests/postgres/)
    for args in (["demo", "-c", config],):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        assert f"`tertulia {args[0]}` runs on a DuckDB warehouse only so far" in result.output
        assert "postgresql://team:***@db.example.org/wh" in result.output
        assert "pw123" not in result.output
    assert not (tmp_path / "dbt").exists()  # refused before any work


def test_status_and_quarantine_on_an_unreachable_server_say_so(monkeypatch):
    from typer.testing import CliRunner

    from tertulia.cli import app

    monkeypatch.setenv("TERTULIA_WAREHOUSE", "postgresql://team:pw123@127.0.0.1:1/wh?connect_timeout=2")
    for command in ("status", "quarantine"):
        result = CliRunner().invoke(app, [command, "-c", str(REPO / "community.example.yml")])
        assert result.exit_code == 1, result.output
        assert (
            "cannot connect to the PostgreSQL warehouse postgresql://team:***@127.0.0.1:1/wh" in result.output
        )
        assert "pw123" not in result.output


def test_migrate_refuses_a_password_on_the_command_line():
    from typer.testing import CliRunner

    from tertulia.cli import app

    result = CliRunner().invoke(
        app, ["migrate", "--to", "postgresql://team:pw123@db/wh", "-c", str(REPO / "community.example.yml")]
    )
    assert result.exit_code == 1
    assert "--to holds a password: remove it from the URL" in result.output


def test_publishing_on_postgresql_says_bi_reads_the_server_and_copies_nothing(monkeypatch, tmp_path):
    from tertulia.publish import PublishError, publish_marts

    monkeypatch.delenv("TERTULIA_WAREHOUSE", raising=False)
    data = _example(url="postgresql://tertulia@db.example.org/team", publish_dir=str(tmp_path / "published"))
    cfg = parse_config(data, source=tmp_path / "community.yml")
    with pytest.raises(PublishError, match=r"BI tools read the marts where they are .*docs/bi.md"):
        publish_marts(cfg)
    assert not (tmp_path / "published").exists()


def test_the_url_may_come_from_a_prefect_secret_block(monkeypatch, tmp_path):
    import sys
    import types

    loaded: list[str] = []

    class Secret:
        @staticmethod
        def load(name):
            loaded.append(name)
            if name != "tertulia-warehouse":
                raise ValueError(f"Unable to find block document named {name}")
            return types.SimpleNamespace(get=lambda: "postgresql://team:blockpw@db.internal:5433/wh")

    monkeypatch.setitem(sys.modules, "prefect.blocks.system", types.SimpleNamespace(Secret=Secret))
    monkeypatch.delenv("TERTULIA_WAREHOUSE", raising=False)
    warehouse.url_from_secret_block.cache_clear()
    try:
        cfg = parse_config(_example(url_secret_block="tertulia-warehouse"), source=tmp_path / "c.yml")
        where = cfg.warehouse_location
        assert where.shown == "postgresql://team:***@db.internal:5433/wh"
        assert where.libpq_env()["PGPASSWORD"] == "blockpw"
        assert cfg.on_postgres and cfg.warehouse_location == where
        assert loaded == ["tertulia-warehouse"]  # read once per process
        missing = parse_config(_example(url_secret_block="nope"), source=tmp_path / "c.yml")
        with pytest.raises(ValueError, match=r"could not read Prefect Secret block 'nope' \(ValueError\)"):
            missing.warehouse_location  # noqa: B018
    finally:
        warehouse.url_from_secret_block.cache_clear()


def test_build_on_an_unreachable_server_says_so_before_running_dbt(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from tertulia.cli import app

    monkeypatch.setenv("TERTULIA_WAREHOUSE", "postgresql://nobody:pw123@127.0.0.1:1/x?connect_timeout=2")
    result = CliRunner().invoke(app, ["build", "-c", str(REPO / "community.example.yml")])
    assert result.exit_code == 1
    assert "cannot connect to the PostgreSQL warehouse postgresql://nobody:***@127.0.0.1:1/x" in result.output
    assert "pw123" not in result.output


def test_import_on_an_unreachable_postgresql_names_the_server_and_hides_the_password(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from tertulia.cli import app

    monkeypatch.setenv("TERTULIA_WAREHOUSE", "postgresql://team:pw123@127.0.0.1:1/wh?connect_timeout=2")
    result = CliRunner().invoke(app, ["import", str(tmp_path), "-c", str(REPO / "community.example.yml")])
    assert result.exit_code == 1, result.output
    assert "cannot connect to the PostgreSQL warehouse postgresql://team:***@127.0.0.1:1/wh" in result.output
    assert "pw123" not in result.output
