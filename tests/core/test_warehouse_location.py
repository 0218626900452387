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
    assert "warehouse.url: the URL holds a password" in text
    assert "PGPASSWORD" in text
    assert "s3cret" not in text  # the message does not repeat the secret it refuses


def test_a_password_as_a_query_parameter_is_refused_too_and_hidden_where_allowed():
    with pytest.raises(ConfigError, match="warehouse.url: the URL holds a password"):
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


# --- a new user's trial (issue 18): typos in the address, a password in a message, a clashing file name


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        # a port typo: urlsplit refuses the port, the password must still go
        (
            "postgresql://tertulia_dbt:WRONGSECRET@127.0.0.1:5543x/tertulia",
            "postgresql://tertulia_dbt:***@127.0.0.1:5543x/tertulia",
        ),
        (
            "postgresql://u@h/db?sslmode=require&password=s3cret",
            "postgresql://u@h/db?sslmode=require&password=***",
        ),
        ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"),  # an `@` in the password: all of it hidden
        ("postgresq:/u:pw@h:1/db", "postgresq:/u:***@h:1/db"),  # scheme typos are shown masked too
        ("postgresql//u:pw@h/db", "postgresql//u:***@h/db"),
        (
            "host=127.0.0.1 port=5432 user=tertulia_dbt password=dbtpw dbname=tertulia",
            "host=127.0.0.1 port=5432 user=tertulia_dbt password=*** dbname=tertulia",
        ),
        ("host=h password = 'a b\\' c' dbname=x", "host=h password = *** dbname=x"),  # libpq's quoting
        ("postgresql://u@h:5432/db", "postgresql://u@h:5432/db"),  # nothing to hide
        ("data/warehouse.duckdb", "data/warehouse.duckdb"),
    ],
)
def test_every_shown_address_has_its_password_masked(text, shown):
    assert warehouse.masked(text) == shown


def test_a_port_typo_in_the_environment_stops_the_config_with_the_password_masked(monkeypatch):
    monkeypatch.setenv("TERTULIA_WAREHOUSE", "postgresql://tertulia_dbt:WRONGSECRET@127.0.0.1:5543x/tertulia")
    with pytest.raises(ConfigError) as err:
        load_config(REPO / "community.example.yml")
    text = str(err.value)
    assert text.startswith(
        "TERTULIA_WAREHOUSE: 'postgresql://tertulia_dbt:***@127.0.0.1:5543x/tertulia' is not a valid "
        "postgresql:// URL (Port could not be cast to integer value as '5543x'); a URL is expected"
    )
    assert "WRONGSECRET" not in text
    assert "\n" not in text


def test_a_libpq_string_in_warehouse_url_is_masked_named_once_and_asks_for_a_url():
    data = _example(url="host=127.0.0.1 port=5432 user=tertulia_dbt password=dbtpw dbname=tertulia")
    with pytest.raises(ConfigError) as err:
        parse_config(data, source=Path("community.yml"))
    text = str(err.value)
    assert (
        "  - warehouse.url: 'host=127.0.0.1 port=5432 user=tertulia_dbt password=*** dbname=tertulia' is not "
        "a postgresql:// URL; a URL is expected: postgresql://user@host:5432/dbname"
    ) in text
    assert text.count("warehouse.url") == 1
    assert "dbtpw" not in text


@pytest.mark.parametrize(
    "value",
    [
        "postgresq://tertulia_dbt:pw9@127.0.0.1:5543/tertulia",  # a letter short
        "postgresql//tertulia_dbt:pw9@127.0.0.1:5543/tertulia",  # the colon missing
        "postgres:/tertulia_dbt@127.0.0.1:5543/tertulia",  # a slash missing
        "mysql://db/x",
        "host=127.0.0.1 password=pw9 dbname=tertulia",  # libpq's key=value form
    ],
)
def test_an_address_typo_in_the_environment_is_refused_not_taken_as_a_file(value, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TERTULIA_WAREHOUSE", value)
    with pytest.raises(ConfigError) as err:
        load_config(REPO / "community.example.yml")
    text = str(err.value)
    assert text.startswith("TERTULIA_WAREHOUSE: '")
    assert "is not a postgresql:// URL" in text  # its own message, not a path error later
    assert "pw9" not in text
    assert list(tmp_path.iterdir()) == []  # no folder named like the URL


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("url", "postgresq://tertulia_dbt@127.0.0.1:5543/tertulia", "is not a postgresql:// URL"),
        ("url", "postgresql//tertulia_dbt@127.0.0.1:5543/tertulia", "is not a postgresql:// URL"),
        ("path", "postgresq://tertulia_dbt@127.0.0.1:5543/tertulia", "looks like a server address"),
        ("path", "postgresql//tertulia_dbt@127.0.0.1/tertulia", "looks like a server address"),
    ],
)
def test_an_address_typo_in_community_yml_is_refused_naming_the_key(key, value, expected):
    with pytest.raises(ConfigError) as err:
        parse_config(_example(**{key: value}), source=Path("community.yml"))
    assert f"  - warehouse.{key}: '{value}' {expected}" in str(err.value)


def test_the_schema_list_is_the_warehouse_s_and_a_file_named_like_one_really_breaks(tmp_path):
    project = yaml.safe_load((REPO / "dbt_project" / "dbt_project.yml").read_text(encoding="utf-8"))

    def dbt_schemas(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "+schema":
                    yield v
                else:
                    yield from dbt_schemas(v)

    assert set(dbt_schemas(project["models"])) <= set(warehouse.WAREHOUSE_SCHEMAS)
    assert {*warehouse.SCHEMAS, "config"} <= set(warehouse.WAREHOUSE_SCHEMAS)
    # why the rule exists: DuckDB names the catalog after the file, `<schema>.x` is then ambiguous
    import duckdb

    for schema in warehouse.WAREHOUSE_SCHEMAS:
        con = duckdb.connect(str(tmp_path / f"{schema}.duckdb"))
        try:
            con.execute(f"create schema {schema}")
            with pytest.raises(duckdb.BinderException, match="Ambiguous reference to catalog or schema"):
                con.execute(f"create table {schema}.t (x integer)")
        finally:
            con.close()


@pytest.mark.parametrize("name", ["tertulia.duckdb", "marts.duckdb", "RAW.db"])
def test_a_warehouse_file_named_like_a_schema_is_refused_on_load(name, monkeypatch, tmp_path):
    monkeypatch.setenv("TERTULIA_WAREHOUSE", str(tmp_path / name))
    with pytest.raises(ConfigError) as err:
        load_config(REPO / "community.example.yml")
    stem = name.split(".")[0]
    assert str(err.value).startswith(
        f"TERTULIA_WAREHOUSE: the DuckDB file {name!r} is named like the warehouse's schema {stem!r}"
    )
    assert "Use another name, such as warehouse.duckdb" in str(err.value)
    monkeypatch.delenv("TERTULIA_WAREHOUSE")
    with pytest.raises(ConfigError, match=rf"  - warehouse.path: the DuckDB file '{name}' is named like"):
        parse_config(_example(path=f"data/{name}"), source=Path("community.yml"))
    assert not (tmp_path / name).exists()
