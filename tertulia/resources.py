"""How much of the machine DuckDB's builds and the enrichment workers use by default, and the knob.

DuckDB's own default memory limit is 80 % of the machine's memory: a 10M-comment full build then
peaked at 20 GB on the 23.5 GB reference machine, and on a machine shared with anything else that is
a bad default. Tertulia's dbt builds get instead `DEFAULT_MEMORY_SHARE` of the memory this process may
use (the smaller of the machine's and its cgroup's), at most `DEFAULT_MEMORY_CAP` and at least
`MIN_MEMORY`: under a 3 GB limit the 10M full build peaked at 3.4 GB resident (Python and dbt add about
0.4 GB to DuckDB's own), inside the 4 GB a build should stay in; past the limit DuckDB spills to disk
(docs/benchmarks.md has the cost). TERTULIA_DUCKDB_MEMORY_LIMIT (a DuckDB size such as `6GB`, or
`80%` for DuckDB's own default) overrides it; dbt_project/profiles.yml reads that variable, which
tertulia.dbt_runner sets to this default when it is not set.

Only the builds: the importer reads gzip-compressed files with lines up to
`connectors.files.MAX_LINE_BYTES` long, and for that DuckDB asks for a 4 GiB buffer, refused under a
3 GB limit (tests/connectors' gzip case failed so), so the pipeline's own connections keep DuckDB's
default. Threads are DuckDB's default everywhere: one
per core of the machine.
"""

from __future__ import annotations

import os
from pathlib import Path

MEMORY_ENV = "TERTULIA_DUCKDB_MEMORY_LIMIT"
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


def default_memory_limit() -> str:
    """DuckDB's memory limit for builds when TERTULIA_DUCKDB_MEMORY_LIMIT is not set, as DuckDB reads it."""
    total = memory_bytes()
    if total is None:
        return f"{DEFAULT_MEMORY_CAP // 2**20}MB"
    limit = max(MIN_MEMORY, min(DEFAULT_MEMORY_CAP, int(total * DEFAULT_MEMORY_SHARE)))
    return f"{limit // 2**20}MB"


def memory_limit() -> str:
    """The memory limit dbt builds run under: TERTULIA_DUCKDB_MEMORY_LIMIT, else the default."""
    value = os.environ.get(MEMORY_ENV, "").strip()
    return value or default_memory_limit()
