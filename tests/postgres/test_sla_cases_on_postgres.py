"""The SLA deadlines and response times on PostgreSQL equal the Python reference, case by case.

tests/sla/test_sla_sql_matches_python.py checks DuckDB's fct_sla_events against the Python business
calendar on 60 seeded items around Europe/Madrid's March 2026 DST switch and Spain's Easter: the case
where the two engines' timestamp and time-zone SQL (`to_local`, the business intervals) differ most,
and which the sample (America/Guayaquil, no DST) never reaches. Here the same cases land on DuckDB,
move to a real PostgreSQL with `tertulia migrate` as a team moves, dbt builds there through
`TERTULIA_WAREHOUSE=postgresql://...`, and the server's rows meet the same hand-checked reference.
"""

from __future__ import annotations

import decimal

import pytest

from tertulia import migrate
from tertulia.dbt_runner import build
from tertulia.warehouse import postgres_warehouse
from tests.postgres.test_marts_on_postgres import environment
from tests.sla.test_sla_sql_matches_python import AS_OF, FACTS, check_against_python, land_cases

pytestmark = pytest.mark.integration

DATABASE = "tertulia_sla_cases"
ROLE = "tertulia_dbt"


def test_sla_cases_on_postgres_equal_python_reference(tmp_path, postgres_server):
    duck_file = tmp_path / "w.duckdb"
    with environment({"TERTULIA_WAREHOUSE": str(duck_file)}):
        cfg, cases = land_cases(tmp_path)
    postgres_server.create_database(DATABASE, owner=ROLE)
    url = postgres_server.url(DATABASE, ROLE)
    with environment({**postgres_server.env(DATABASE, ROLE), "TERTULIA_WAREHOUSE": url}):
        migrate.migrate(duck_file, postgres_warehouse(url, where="test", password_allowed=False))
        assert cfg.on_postgres
        build(cfg, select="+fct_sla_events", as_of=AS_OF)
    pg = postgres_server.connect(DATABASE, ROLE)
    try:
        with pg.cursor() as cur:
            cur.execute(FACTS)
            rows = cur.fetchall()
    finally:
        pg.close()
    # numeric minutes come back as Decimal from a `numeric` column; the reference compares floats
    got = {r[0]: tuple(float(v) if isinstance(v, decimal.Decimal) else v for v in r[1:]) for r in rows}
    assert len(got) == len(cases) == 60
    check_against_python(cfg, cases, got)
