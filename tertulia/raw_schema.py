"""DDL of the warehouse's `raw` schema, derived from the contract so the two never drift."""

from __future__ import annotations

import duckdb

from tertulia.contract import ENTITIES, Entity


def raw_table_ddl(entity: Entity) -> str:
    cols = [f'"{c.name}" varchar' for c in entity.columns]
    cols += [
        "_extra json",
        "_source varchar",
        "_source_line bigint",
        "_batch_id varchar",
        "_loaded_at timestamp",
    ]
    key = ", ".join(f'"{k}"' for k in entity.key)
    return f"create table if not exists raw.{entity.name} ({', '.join(cols)}, primary key ({key}))"


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create every raw table (empty) so dbt can build on a warehouse that has seen no data yet."""
    con.execute("create schema if not exists raw")
    for entity in ENTITIES.values():
        con.execute(raw_table_ddl(entity))
