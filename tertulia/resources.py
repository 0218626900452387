"""How much of the machine DuckDB uses by default, and the knobs: one rule for every connection.

DuckDB's own default memory limit is 80 % of the machine's memory: a 10M-comment full build then
peaked at 20 GB on the 23.5 GB reference machine, and on a machine shared with anything else that is
a bad default. Tertulia's DuckDB gets instead `DEFAULT_MEMORY_SHARE` of the memory this process may
use (the smaller of the machine's and its cgroup's), at most `DEFAULT_MEMORY_CAP` and at least
`MIN_MEMORY`: under a 3 GB limit the 10M full build peaked at 3.4 GB resident (Python and dbt add about
0.4 GB to DuckDB's own), inside the 4 GB a build should stay in; past the limit DuckDB spills to disk
(docs/benchmarks.md has the cost). Threads: one per core this process may run on (DuckDB itself
counts the machine's cores, a container's CPU set aside).

The same rule for the dbt builds (dbt_project/profiles.yml reads both settings from the variables
below, which tertulia.dbt_runner sets to these defaults when they are not set) and for the
pipeline's own connections (`tertulia.warehouse.connect`: import, enrichment, alerts, reports).
The gzip reader's buffer, which DuckDB sizes at 16 times the longest line it may read (4 GiB, refused
under a 3 GB limit), is sized by `connectors.files` instead.

Knobs (environment): TERTULIA_DUCKDB_MEMORY_LIMIT (a DuckDB size such as `6GB`, or `80%` for DuckDB's
own default) and TERTULIA_DUCKDB_THREADS (a whole number, at least 1).
"""

from __future__ import annotations

import os
from pathlib import Path

MEMORY_ENV = "TERTULIA_DUCKDB_MEMORY_LIMIT"
THREADS_ENV = "TERTULIA_DUCKDB_THREADS"
DEFAULT_MEMORY_SHARE = 0.25
DEFAULT_MEMORY_CAP = 3 * 2**30
MIN_MEMORY = 512 * 2**20


def cores() -> int:
    """Cores this process may run on (its CPU affinity, which a container's CPU set narrows)."""
    return len(os.sched_getaffinity(0)) or 1


def memory_bytes() -> int | None:
    """Physical memory this process may use: the machine's, or its cgroup's limit when lower."""
    total = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                total = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        total = None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit() and (total is None or int(limit) < total):
            total = int(limit)
    except OSError:
        pass
    return total


def memory_limit_for(total: int | None) -> str:
    """DuckDB's memory limit for a process that may use `total` bytes (None: unknown), as DuckDB reads it."""
    if total is None:
        return f"{DEFAULT_MEMORY_CAP // 2**20}MB"
    limit = max(MIN_MEMORY, min(DEFAULT_MEMORY_CAP, int(total * DEFAULT_MEMORY_SHARE)))
    return f"{limit // 2**20}MB"


def default_memory_limit() -> str:
    """DuckDB's memory limit when TERTULIA_DUCKDB_MEMORY_LIMIT is not set: the rule for this machine."""
    return memory_limit_for(memory_bytes())


def memory_limit() -> str:
    """The memory limit DuckDB runs under: TERTULIA_DUCKDB_MEMORY_LIMIT, else the default."""
    value = os.environ.get(MEMORY_ENV, "").strip()
    return value or default_memory_limit()


def threads() -> int:
    """DuckDB's threads: TERTULIA_DUCKDB_THREADS, else one per core this process may run on."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if not value:
        return cores()
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(
            f"{THREADS_ENV}={value!r}: expected a whole number of threads, at least 1 (or unset it)"
        )
    return n


def duckdb_settings() -> dict[str, str]:
    """The settings every DuckDB connection of Tertulia runs with, by DuckDB's names."""
    return {"memory_limit": memory_limit(), "threads": str(threads())}
