"""Score comments not scored yet (or edited since) and upsert the results into raw.comment_enrichment.

The to-do set is chosen in SQL: among the comments landed since the last complete run (its
watermark, less `warehouse.reload_margin_minutes`), those whose (platform, comment_id) has no
enrichment row, or whose text hash differs from the hash that was scored. It is streamed in Arrow batches from a second
cursor (reading a snapshot) while each batch's results go back in one `insert or replace` from an
Arrow table, never row by row. Rebuilding the marts never re-scores anything.

The terms of each scored comment (enrichment.terms, for the trend marts) are written in the same
transaction as its enrichment row, replacing the terms of the version scored before. When the
tokenisation rules change (`TERMS_VERSION`), or on a warehouse scored before terms existed, the terms
of every scored comment are computed again once, per distinct (text, language) rather than per row.
"""

from __future__ import annotations

import datetime as dt
import logging

import duckdb
import pyarrow as pa

from enrichment.annotate import Annotator
from enrichment.terms import TERMS_VERSION, extract_terms, terms_table
from tertulia.config import Config
from tertulia.progress import progress
from tertulia.raw_schema import ensure_raw_tables
from tertulia.schema import ensure_state

log = logging.getLogger(__name__)

BATCH_SIZE = 50_000

# The hash of what is scored: an edit changes the text, so the hash, so the comment is scored again.
# Only comments landed since the last run (less a margin) can be new or edited: a new version of a
# comment lands with a new `_loaded_at`, stamped under the writer lock, so landing times only grow.
# Without that filter the to-do query would hash every comment of history on every run.
_TODO_SQL = """
select c.platform, c.comment_id, md5(coalesce(c.message, '')) as content_hash, c.message,
       lower(trim(c.channel)) as channel
from raw.comments as c
left join raw.comment_enrichment as e
    on e.platform = c.platform and e.comment_id = c.comment_id
where (e.comment_id is null or e.content_hash <> md5(coalesce(c.message, '')))
  and ($since is null or c._loaded_at is null or c._loaded_at >= $since)
"""

_SCHEMA = pa.schema(
    [
        ("platform", pa.string()),
        ("comment_id", pa.string()),
        ("content_hash", pa.string()),
        ("language", pa.string()),
        ("sentiment_score", pa.float64()),
        ("sentiment_label", pa.string()),
        ("intent", pa.string()),
        ("priority", pa.string()),
        ("keywords", pa.string()),
        ("model_version", pa.string()),
        ("enriched_at", pa.timestamp("us")),
    ]
)


def annotator_for(config: Config) -> Annotator:
    return Annotator(config.crisis.keywords, languages=config.community.languages)


def enrich_batch(batch: pa.RecordBatch, annotator: Annotator, now: dt.datetime) -> pa.Table:
    texts = batch.column("message").to_pylist()
    channels = batch.column("channel").to_pylist()
    ann = annotator.annotate(texts, channels)
    n = batch.num_rows
    return pa.table(
        {
            "platform": batch.column("platform"),
            "comment_id": batch.column("comment_id"),
            "content_hash": batch.column("content_hash"),
            "language": ann.language,
            "sentiment_score": ann.sentiment_score,
            "sentiment_label": ann.sentiment_label,
            "intent": ann.intent,
            "priority": ann.priority,
            "keywords": ann.keywords,
            "model_version": [annotator.version] * n,
            "enriched_at": pa.array([now] * n, pa.timestamp("us")),
        },
        schema=_SCHEMA,
    )


def _write_batch(con: duckdb.DuckDBPyConnection, enriched: pa.Table, terms: pa.Table) -> None:
    """Enrichment rows and the comments' terms in one transaction: the terms always match the version
    of the text that was scored."""
    con.register("_enriched", enriched)
    con.register("_terms", terms)
    con.execute("begin transaction")
    try:
        con.execute("insert or replace into raw.comment_enrichment by name select * from _enriched")
        con.execute(
            "delete from raw.comment_terms as t using _enriched as e "
            "where t.platform = e.platform and t.comment_id = e.comment_id"
        )
        con.execute("insert into raw.comment_terms by name select * from _terms")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_enriched")
        con.unregister("_terms")


# Every scored comment's current text with its language, as distinct (text, language) pairs: a
# community repeats itself ("gracias!", copy-pasted complaints), and the terms depend on these alone.
_RETOKENISE_SQL = """
select distinct c.message, e.language
from raw.comments as c
join raw.comment_enrichment as e
    on e.platform = c.platform and e.comment_id = c.comment_id and e.content_hash = md5(coalesce(c.message, ''))
where c.message is not null
"""

_RETOKENISE_INSERT = """
insert into raw.comment_terms by name
select c.platform, c.comment_id, e.content_hash, t.term, t.surface, t.kind, e.language
from raw.comments as c
join raw.comment_enrichment as e
    on e.platform = c.platform and e.comment_id = c.comment_id and e.content_hash = md5(coalesce(c.message, ''))
join _pair_terms as t
    on t.message = c.message and t.language is not distinct from e.language
"""


def _retokenise_if_stale(con: duckdb.DuckDBPyConnection, now: dt.datetime, batch_size: int) -> None:
    """Rewrite raw.comment_terms for every scored comment when it was written by other rules (or never)."""
    ensure_state(con, "terms_state")
    rows = con.execute("select version from tertulia.terms_state where id = 1").fetchall()
    if rows and rows[0][0] == TERMS_VERSION:
        return
    log.info("terms: tokenising every scored comment again (rules version %s)", TERMS_VERSION)
    con.execute("delete from raw.comment_terms")
    reader = con.cursor()
    try:
        for batch in reader.sql(_RETOKENISE_SQL).to_arrow_reader(batch_size):
            messages = batch.column("message").to_pylist()
            languages = batch.column("language").to_pylist()
            cols: dict[str, list] = {"message": [], "language": [], "term": [], "surface": [], "kind": []}
            for message, language in zip(messages, languages, strict=True):
                for t in extract_terms(message, language):
                    cols["message"].append(message)
                    cols["language"].append(language)
                    cols["term"].append(t.term)
                    cols["surface"].append(t.surface)
                    cols["kind"].append(t.kind)
            con.register("_pair_terms", pa.table(cols, schema=_PAIR_TERMS_SCHEMA))
            try:
                con.execute(_RETOKENISE_INSERT)
            finally:
                con.unregister("_pair_terms")
    finally:
        reader.close()
    # Only once every batch is in: a run that stops half-way starts again from an empty table.
    con.execute("insert or replace into tertulia.terms_state values (1, ?, ?)", [TERMS_VERSION, now])


_PAIR_TERMS_SCHEMA = pa.schema(
    [(name, pa.string()) for name in ("message", "language", "term", "surface", "kind")]
)


def _since(con: duckdb.DuckDBPyConnection, config: Config) -> dt.datetime | None:
    """Landing time from which comments can still need scoring; None to read them all (first run, or
    an emptied enrichment table, which is how a re-score of everything is asked for)."""
    rows = con.execute("select loaded_through from tertulia.enrichment_watermark where id = 1").fetchall()
    if not rows or rows[0][0] is None:
        return None
    if con.execute("select count(*) = 0 from (select 1 from raw.comment_enrichment limit 1)").fetchall()[0][
        0
    ]:
        return None
    row = rows[0]
    return row[0] - dt.timedelta(minutes=config.warehouse.reload_margin_minutes)


def enrich_new_comments(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    *,
    batch_size: int = BATCH_SIZE,
    annotator: Annotator | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Enrich every comment without a current enrichment row; returns how many were scored."""
    ensure_raw_tables(con)
    ensure_state(con, "enrichment_watermark")
    annotator = annotator or annotator_for(config)
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    _retokenise_if_stale(con, now, batch_size)
    since = _since(con, config)
    loaded_through = con.execute("select max(_loaded_at) from raw.comments").fetchall()[0][0]
    reader = con.cursor()
    done = 0
    try:
        batches = reader.sql(_TODO_SQL, params={"since": since}).to_arrow_reader(batch_size)
        with progress("Enriching comments (language, sentiment, intent, terms)") as steps:
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                table = enrich_batch(batch, annotator, now)
                terms = terms_table(
                    batch.column("platform").to_pylist(),
                    batch.column("comment_id").to_pylist(),
                    batch.column("content_hash").to_pylist(),
                    batch.column("message").to_pylist(),
                    table.column("language").to_pylist(),
                )
                _write_batch(con, table, terms)
                done += batch.num_rows
                log.info("enriched %d comments (%d so far)", batch.num_rows, done)
                steps.advance(batch.num_rows)
    finally:
        reader.close()
    # Only after every batch is written: a run that stops half-way leaves the old watermark, and the
    # next run reads the same comments again (the hash check skips the ones already scored).
    con.execute(
        "insert or replace into tertulia.enrichment_watermark values (1, ?, ?)", [loaded_through, now]
    )
    return done
