"""DDL of the warehouse's `raw` schema, derived from the contract so the two never drift."""

from __future__ import annotations

import duckdb

from tertulia.contract import ENTITIES, Entity


# No PRIMARY KEY on the entity tables. A key is still one row, by three other guards: every write goes
# through connectors.landing.land_relation, which drops duplicates within a batch and merges by the key
# (an anti-join with raw) in one transaction; one writer at a time (tertulia.warehouse.writer_lock);
# and the staging models' uniqueness tests fail the nightly dbt build if a row ever slipped in
# another way. What the index would add costs too much: measured on the 1M-comment bench file, keeping
# DuckDB's ART index up to date took a quarter of the import's time (7.0 s with it, 5.2 s without, the
# insert alone 1.9 s vs 1.4 s), and the index grows in memory with the table, so it weighs most at
# 10M comments. Warehouses created before this keep their key; nothing depends on it either way.
def raw_table_ddl(entity: Entity) -> str:
    cols = [f'"{c.name}" varchar' for c in entity.columns]
    cols += [
        "_extra json",
        "_source varchar",
        "_source_line bigint",
        "_batch_id varchar",
        "_loaded_at timestamp",
    ]
    return f"create table if not exists raw.{entity.name} ({', '.join(cols)})"


# Enrichment results live beside the raw comments they score, keyed the same way, so rebuilding the
# marts never re-scores history. content_hash says which version of the text was scored: an edited
# comment (new hash) is scored again, an unchanged one never.
COMMENT_ENRICHMENT_DDL = """
create table if not exists raw.comment_enrichment (
    platform varchar not null,
    comment_id varchar not null,
    content_hash varchar not null,
    language varchar,            -- ISO 639-1 (es, en, pt, ...) or 'und'
    sentiment_score double,      -- -1 (very negative) .. +1 (very positive)
    sentiment_label varchar,     -- negative | neutral | positive
    intent varchar,              -- question | complaint | praise | spam | other
    priority varchar,            -- high | normal | low
    keywords varchar,            -- crisis keywords found, comma-separated, lower-case
    model_version varchar,
    enriched_at timestamp,
    primary key (platform, comment_id)
)
"""


# Terms of each comment for the trend marts (tertulia/terms.py), written with its enrichment row
# for the same version of the text (content_hash) and replaced when the comment is scored again.
COMMENT_TERMS_DDL = """
create table if not exists raw.comment_terms (
    platform varchar not null,
    comment_id varchar not null,
    content_hash varchar not null,
    term varchar not null,       -- key: folded, stemmed; '#tag' / '@handle' for hashtags and mentions
    surface varchar not null,    -- the form a person reads (lower case, accents kept)
    kind varchar not null,       -- word | phrase | hashtag | mention
    language varchar             -- the comment's language (raw.comment_enrichment.language)
)
"""


def add_missing_columns(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """A contract column added after a warehouse was created is added to its raw table (empty for the rows
    already there; a value that landed earlier under that name stays in `_extra`)."""
    existing = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' and table_name = ?",
            [entity.name],
        ).fetchall()
    }
    for c in entity.columns:
        if c.name not in existing:
            con.execute(f'alter table raw.{entity.name} add column "{c.name}" varchar')


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create every raw table (empty) so dbt can build on a warehouse that has seen no data yet."""
    con.execute("create schema if not exists raw")
    for entity in ENTITIES.values():
        con.execute(raw_table_ddl(entity))
        add_missing_columns(con, entity)
    con.execute(COMMENT_ENRICHMENT_DDL)
    con.execute(COMMENT_TERMS_DDL)
