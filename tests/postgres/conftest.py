"""A throwaway PostgreSQL cluster for the tests that need a real server (tests/postgres/pg_server.py)."""

from __future__ import annotations

import pytest

from tests.postgres import pg_server


@pytest.fixture(scope="session")
def postgres_server():
    """A running PostgreSQL on 127.0.0.1 (started once, ~5 s), stopped and removed after the session."""
    why_not = pg_server.available()
    if why_not:
        pytest.skip(why_not)
    server = pg_server.start_server()
    try:
        yield server
    finally:
        pg_server.stop_server(server)


@pytest.fixture(scope="session")
def runs(tmp_path_factory, postgres_server, prefect_harness):
    """The sample run twice on DuckDB and on PostgreSQL (test_run_on_postgres.py), built once for the
    session: test_watches_on_postgres.py runs the watches on the same two warehouses afterwards."""
    from tests.postgres.test_run_on_postgres import build_runs

    yield from build_runs(tmp_path_factory, postgres_server)
