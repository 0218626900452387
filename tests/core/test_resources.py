"""DuckDB's memory limit and threads by default, from the machine, for builds and the pipeline's connections, and the knobs."""

from __future__ import annotations

import os

import pytest

from tertulia import resources

GIB = 2**30


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        (int(23.5 * GIB), "3072MB"),  # the reference machine: a quarter would be 5.9 GB, capped at 3 GB
        (8 * GIB, "2048MB"),  # a quarter of 8 GB
        (1 * GIB, "512MB"),  # a quarter would be 256 MB: the floor
        (None, "3072MB"),  # memory unknown: the cap
    ],
)
def test_default_memory_limit_is_a_quarter_of_memory_within_bounds(total, expected, monkeypatch):
    assert resources.memory_limit_for(total) == expected
    monkeypatch.setattr(resources, "memory_bytes", lambda: total)
    assert resources.default_memory_limit() == expected


@pytest.mark.parametrize(
    ("total", "cores", "expected"),
    [
        # the reference machine, 23.5 GB and 2 cores: 3 GB (the cap) and one thread per core; a 10M build
        # under it peaked at 3.4-3.5 GB resident, within the 4 GB budget
        (int(23.5 * GIB), 2, {"memory_limit": "3072MB", "threads": "2"}),
        # a 6 GB container pinned to one core: a quarter of 6 GB is 1536 MB
        (6 * GIB, 1, {"memory_limit": "1536MB", "threads": "1"}),
        # a 64 GB, 16-core server: still the 3 GB cap, 16 threads
        (64 * GIB, 16, {"memory_limit": "3072MB", "threads": "16"}),
    ],
)
def test_machine_sizes_in_duckdb_settings_out(total, cores, expected, monkeypatch):
    monkeypatch.delenv(resources.MEMORY_ENV, raising=False)
    monkeypatch.delenv(resources.THREADS_ENV, raising=False)
    monkeypatch.setattr(resources, "memory_bytes", lambda: total)
    monkeypatch.setattr(resources, "cores", lambda: cores)
    assert resources.duckdb_settings() == expected


def test_threads_from_the_environment_win_and_nonsense_is_refused_by_name(monkeypatch):
    monkeypatch.setattr(resources, "cores", lambda: 2)
    monkeypatch.setenv(resources.THREADS_ENV, "3")
    assert resources.threads() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(resources.THREADS_ENV, bad)
        with pytest.raises(ValueError, match="TERTULIA_DUCKDB_THREADS"):
            resources.threads()


def test_pipeline_connections_run_under_the_same_rule(tmp_path, monkeypatch):
    """Import, enrichment and alerts open the warehouse through tertulia.warehouse.connect: DuckDB's
    settings there are the ones dbt's builds get, read back from DuckDB itself."""
    from tertulia import warehouse

    monkeypatch.delenv(resources.MEMORY_ENV, raising=False)
    monkeypatch.delenv(resources.THREADS_ENV, raising=False)
    monkeypatch.setattr(resources, "memory_bytes", lambda: 4 * GIB)  # a quarter: 1024 MB
    monkeypatch.setattr(resources, "cores", lambda: 1)
    db = tmp_path / "w.duckdb"
    con = warehouse.connect(db)
    try:
        limit, threads = con.execute(
            "select current_setting('memory_limit'), current_setting('threads')"
        ).fetchone()
    finally:
        con.close()
    # "1024MB" is decimal for DuckDB, 1,024,000,000 bytes, which it shows in binary units: 976.5 MiB
    assert (limit, threads) == ("976.5 MiB", 1)
    monkeypatch.setenv(resources.MEMORY_ENV, "lots")
    with pytest.raises(ValueError, match="TERTULIA_DUCKDB_MEMORY_LIMIT='lots'"):
        warehouse.connect(db, read_only=True)


def test_a_gzip_file_imports_under_a_small_memory_limit(tmp_path, monkeypatch):
    """DuckDB sizes the gzip reader's buffer at 16 times the longest line (4 GiB here), which a memory
    limit below it refused; the importer sizes it to the longest line."""
    import gzip

    from connectors.files import _LINE_READER, MAX_LINE_BYTES
    from tertulia import warehouse

    assert MAX_LINE_BYTES * 16 > 512 * 2**20
    monkeypatch.setenv(resources.MEMORY_ENV, "512MB")
    path = tmp_path / "c.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write('{"a": 1}\n{"a": 2}\n{"a": 3}\n')
    con = warehouse.connect(tmp_path / "w.duckdb")
    try:
        assert con.execute(f"select count(*) from {_LINE_READER}", [str(path)]).fetchone() == (3,)  # noqa: S608
    finally:
        con.close()


def test_the_setting_from_the_environment_wins(monkeypatch):
    monkeypatch.setenv(resources.MEMORY_ENV, "80%")
    assert resources.memory_limit() == "80%"


def test_dbt_runs_under_the_default_limit_unless_one_is_set(tmp_path, monkeypatch):
    """profiles.yml reads TERTULIA_DUCKDB_MEMORY_LIMIT: tertulia.dbt_runner sets it for dbt's run."""
    import dbt.cli.main

    from tertulia import dbt_runner
    from tertulia.config import parse_config

    seen = []

    class Runner:
        def invoke(self, args):
            import os

            seen.append((os.environ.get(resources.MEMORY_ENV), os.environ.get(resources.THREADS_ENV)))

            class Result:
                success, result, exception = True, None, None

            return Result()

    monkeypatch.setattr(dbt.cli.main, "dbtRunner", Runner)
    monkeypatch.setattr(resources, "memory_bytes", lambda: 8 * GIB)
    monkeypatch.setattr(resources, "cores", lambda: 2)
    monkeypatch.delenv(resources.MEMORY_ENV, raising=False)
    monkeypatch.delenv(resources.THREADS_ENV, raising=False)
    config = parse_config({"community": {"name": "t"}, "warehouse": {"path": str(tmp_path / "w.duckdb")}})
    dbt_runner.run_dbt(config, ["debug"])
    monkeypatch.setenv(resources.MEMORY_ENV, "5GB")
    monkeypatch.setenv(resources.THREADS_ENV, "1")
    dbt_runner.run_dbt(config, ["debug"])
    assert seen == [("2048MB", "2"), ("5GB", "1")]
    # and only for dbt's run: the process's environment is as it was
    assert resources.THREADS_ENV in os.environ and os.environ[resources.MEMORY_ENV] == "5GB"
