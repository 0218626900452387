"""DuckDB's memory limit for builds by default, from the machine, and the knob that changes it."""

from __future__ import annotations

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
    monkeypatch.setattr(resources, "memory_bytes", lambda: total)
    assert resources.default_memory_limit() == expected


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

            seen.append(os.environ.get(resources.MEMORY_ENV))

            class Result:
                success, result, exception = True, None, None

            return Result()

    monkeypatch.setattr(dbt.cli.main, "dbtRunner", Runner)
    monkeypatch.setattr(resources, "memory_bytes", lambda: 8 * GIB)
    monkeypatch.delenv(resources.MEMORY_ENV, raising=False)
    config = parse_config({"community": {"name": "t"}, "warehouse": {"path": str(tmp_path / "w.duckdb")}})
    dbt_runner.run_dbt(config, ["debug"])
    monkeypatch.setenv(resources.MEMORY_ENV, "5GB")
    dbt_runner.run_dbt(config, ["debug"])
    assert seen == ["2048MB", "5GB"]
