"""A BI-like reader, run as a separate process by test_engagement_publish: it keeps querying the published
copy until told to stop and writes one JSON line per query.

mode `fresh`: each round opens a new read-only connection (as a BI refresh does) and reads a mart's row
count and, in the same snapshot, the row count the publish recorded for it; then the Parquet file's count.
mode `pinned`: one connection opened at the start stays open, to show an open reader keeps its snapshot.
(Two processes because DuckDB shares one database instance between connections to the same path in a
process.) After the stop file appears, one last round runs: the "fresh query" after the pipeline runs.

usage: python engagement_reader.py fresh|pinned PUBLISH_DIR OUT_JSONL STOP_FILE
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

MART = "fct_post_performance"


def _fresh(db: Path, parquet: Path) -> dict[str, object]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(f"select count(*) from {MART}").fetchone()[0]
        recorded = con.execute("select row_count from published_marts where mart = ?", [MART]).fetchone()[0]
    finally:
        con.close()
    pq = duckdb.connect()
    try:
        parquet_rows = pq.execute(f"select count(*) from read_parquet('{parquet}')").fetchone()[0]
    finally:
        pq.close()
    return {"rows": rows, "recorded": recorded, "parquet_rows": parquet_rows}


def main(mode: str, publish_dir: Path, out: Path, stop: Path) -> None:
    db = publish_dir / "tertulia_marts.duckdb"
    parquet = publish_dir / "parquet" / f"{MART}.parquet"
    pinned = duckdb.connect(str(db), read_only=True) if mode == "pinned" else None
    with out.open("a", encoding="utf-8") as fh:
        while True:
            last = stop.exists()
            try:
                if pinned is not None:
                    rec: dict[str, object] = {
                        "rows": pinned.execute(f"select count(*) from {MART}").fetchone()[0]
                    }
                else:
                    rec = _fresh(db, parquet)
            except Exception as exc:  # recorded; the test fails on it
                rec = {"error": f"{type(exc).__name__}: {exc}"}
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            if last:
                break
            time.sleep(0.02)  # leave the shared CPU to the pipeline under test
    if pinned is not None:
        pinned.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
