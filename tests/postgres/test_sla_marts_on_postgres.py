"""The SLA marts' hand-computed scenario (tests/sla/test_sla_marts_integration.py: incremental runs,
status moving with time, policy history, full refresh) on a real PostgreSQL, with the same
expectations, written once in `run_scenario`.

The warehouse is made as a team makes one: prepared on DuckDB and moved with `tertulia migrate`
(on a server `prepare_warehouse` makes only the state tables; the raw and config tables come from an
import or a migration). From there the scenario's own statements (raw rows, the enrichment, the marked
mart row, the reads) run on the server through `warehouse.connect`'s `PostgresConnection`, and dbt
builds there through `TERTULIA_WAREHOUSE=postgresql://...`. The policies' new version is written as a
PostgreSQL import writes community.yml's tables: on a DuckDB copy holding the server's policy history,
then the history and the two policy tables copied back.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tertulia import migrate, warehouse
from tertulia.pipeline import prepare_warehouse
from tertulia.sla_policies import write_sla_policies
from tests.postgres.test_marts_on_postgres import environment
from tests.sla.test_sla_marts_integration import run_scenario

pytestmark = pytest.mark.integration

DATABASE = "tertulia_sla_marts"
ROLE = "tertulia_dbt"
POLICY_TABLES = [
    ("tertulia", "sla_policy_versions"),
    ("config", "sla_policies"),
    ("config", "sla_policy_conditions"),
]


class PostgresWarehouse:
    """The scenario on a PostgreSQL database; `scratch` is the DuckDB file it is prepared on."""

    def __init__(self, tmp_path, monkeypatch, server) -> None:
        server.create_database(DATABASE, owner=ROLE)
        for name, value in server.env(DATABASE, ROLE).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("TERTULIA_WAREHOUSE", server.url(DATABASE, ROLE))
        self.scratch = tmp_path / "scratch.duckdb"

    def prepare(self, cfg) -> None:
        assert cfg.on_postgres
        with environment({"TERTULIA_WAREHOUSE": str(self.scratch)}):
            prepare_warehouse(cfg)
        migrate.migrate(self.scratch, cfg.warehouse_location)

    def write_policies(self, cfg, now: dt.datetime) -> None:
        target = cfg.warehouse_location
        pg = target.connect(application_name="tertulia test policies")
        try:
            duck = warehouse.connect(self.scratch)
            try:
                # the server's history, not the scratch's: the version written follows what it holds
                duck.execute("delete from tertulia.sla_policy_versions")
                migrate.pull_tables(pg, duck, POLICY_TABLES[:1], self.scratch.parent)
                write_sla_policies(duck, cfg, now=now)
            finally:
                duck.close()
            migrate.copy_tables(self.scratch, pg, POLICY_TABLES)
        finally:
            pg.close()


def test_sla_marts_scenario_on_postgres(tmp_path, monkeypatch, postgres_server):
    run_scenario(tmp_path, PostgresWarehouse(tmp_path, monkeypatch, postgres_server))
