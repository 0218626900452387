"""Score comments not scored yet (or edited since) and upsert the results into raw.comment_enrichment.

The to-do set is chosen in SQL: among the comments landed since the last complete run (its
watermark, less `warehouse.reload_margin_minutes`), those whose (platform, comment_id) has no
enrichment row, or whose text hash differs from the hash that was scored. It is streamed in Arrow batches from a second
cursor (reading a snapshot). Each distinct text of a batch is scored once (enrichment.scoring keeps
the run's results, and spreads many new texts over worker processes); DuckDB joins the results back
to the batch's rows in one `insert or replace`, never row by row, while the next batch is scored.
Rebuilding the marts never re-scores anything.

The terms of each scored comment (tertulia.terms, for the trend marts) are written in the same
transaction as its enrichment row, replacing the terms of the version scored before. When the
tokenisation rules change (`TERMS_VERSION`), or on a warehouse scored before terms existed, the terms
of every scored comment are computed again once, per distinct (text, language) rather than per row.
"""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import Future, ThreadPoolExecutor

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from enrichment.annotate import Annotator
from enrichment.intent import priority_of
from enrichment.scoring import Scorer
from enrichment.versions import SCORED_BY_EARLIER
from tertulia.config import Config
from tertulia.progress import progress
from tertulia.raw_schema import ensure_raw_tables
from tertulia.schema import ensure_state
from tertulia.terms import TERMS_VERSION, extract_terms

log = logging.getLogger(__name__)

BATCH_SIZE = 50_000

# The hash of what is scored: an edit changes the text, so the hash, so the comment is scored again.
# Only comments landed since the last run (less a margin) can be new or edited: a new version of a
# comment lands with a new `_loaded_at`, stamped under the writer lock, so landing times only grow.
# Without that filter the to-do query would hash every comment of history on every run.
# The to-do set's rule, in SQL both DuckDB and PostgreSQL run (a PostgreSQL warehouse picks the
# comments to copy into its scratch DuckDB by it, tertulia.pipeline): `c` a comment, `e` its
# enrichment row (left joined), `$since` the landing time from which comments can need scoring.
# `$rescore_version`: on a re-score (`tertulia enrich --rescore`), the engine version now scoring, so
# a comment an earlier version scored is to do again whenever it landed (`$since` is then null); on an
# ordinary run null, which makes `<>` never true: stored scores stay as an earlier engine gave them.
# The version part is enrichment.versions.SCORED_BY_EARLIER, what `tertulia status` counts.
TODO_FROM = f"""
from raw.comments as c
left join raw.comment_enrichment as e
    on e.platform = c.platform and e.comment_id = c.comment_id
where (e.comment_id is null or e.content_hash <> md5(coalesce(c.message, ''))
       or {SCORED_BY_EARLIER})
  and ($since is null or c._loaded_at is null or c._loaded_at >= $since)
"""
_TODO_SQL = (
    """
select c.platform, c.comment_id, md5(coalesce(c.message, '')) as content_hash, c.message,
       lower(trim(c.channel)) as channel"""
    + TODO_FROM
)

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


def _write_batch(
    con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table], params: dict, *, replace_terms: bool = True
) -> None:
    """Enrichment rows and the comments' terms in one transaction: the terms always match the version
    of the text that was scored. `tables` are _score_batch's. `replace_terms` False: no comment of the
    batch can have terms yet (the run began with raw.comment_terms empty), so none are deleted."""
    for name, table in tables.items():
        con.register(name, table)
    try:
        con.execute("begin transaction")
        try:
            con.execute(f"insert or replace into raw.comment_enrichment by name {_ENRICHED_SQL}", params)  # noqa: S608
            if replace_terms:
                con.execute(
                    "delete from raw.comment_terms as t using _batch as b "
                    "where t.platform = b.platform and t.comment_id = b.comment_id"
                )
            con.execute(f"insert into raw.comment_terms by name {_TERMS_SQL}")  # noqa: S608
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        for name in tables:
            con.unregister(name)


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
    scored_any = con.execute("select count(*) > 0 from (select 1 from raw.comment_enrichment limit 1)")
    return todo_since(rows[0][0] if rows else None, scored_any.fetchall()[0][0], config)


def todo_since(loaded_through: dt.datetime | None, scored_any: bool, config: Config) -> dt.datetime | None:
    """`_since` from the watermark and whether any comment is scored (a PostgreSQL warehouse reads
    both on the server): None, read every comment, on a first run or after the enrichment table was
    emptied; else the watermark less the reload margin."""
    if loaded_through is None or not scored_any:
        return None
    return loaded_through - dt.timedelta(minutes=config.warehouse.reload_margin_minutes)


def enrich_new_comments(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    *,
    batch_size: int = BATCH_SIZE,
    annotator: Annotator | None = None,
    now: dt.datetime | None = None,
    processes: int | None = None,
    loaded_through: dt.datetime | None = None,
    rescore: bool = False,
) -> int:
    """Enrich every comment without a current enrichment row; returns how many were scored.

    `rescore`: also every comment of history an earlier engine version scored (after an upgrade of the
    engine; batch by batch, so a re-score stopped half-way is finished by the next one).

    `processes`: how many processes score (default `enrichment.scoring.workers()`, the machine's
    cores or TERTULIA_ENRICH_WORKERS). `loaded_through`: the latest landing time of the warehouse's
    comments, when `con` holds only the comments to score (a PostgreSQL warehouse's scratch copy);
    by default read from `con`."""
    ensure_raw_tables(con)
    ensure_state(con, "enrichment_watermark")
    annotator = annotator or annotator_for(config)
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    _retokenise_if_stale(con, now, batch_size)
    since = None if rescore else _since(con, config)
    if loaded_through is None:
        loaded_through = con.execute("select max(_loaded_at) from raw.comments").fetchall()[0][0]
    # A backfill's (or a re-score's) first run starts with no terms at all: each batch then only adds
    # terms, and the delete of the batch's old terms, a scan of the whole terms table per batch (6.7
    # million rows by the end of a 1M backfill), is skipped. Each comment is once in the to-do set.
    replace_terms = bool(
        con.execute("select count(*) from (select 1 from raw.comment_terms limit 1)").fetchall()[0][0]
    )
    reader = con.cursor()
    done = 0
    params = {"version": annotator.version, "now": now}
    try:
        todo = {"since": since, "rescore_version": annotator.version if rescore else None}
        batches = reader.sql(_TODO_SQL, params=todo).to_arrow_reader(batch_size)
        # One thread writes a batch while this one scores the next: DuckDB lets go of the GIL while
        # it writes, so the scoring (pure Python) and the write each have a core. Batches are written
        # in order, each in its own transaction, one at a time; `con` is the writer thread's alone
        # until the loop ends (the to-do rows stream from `reader`).
        with (
            Scorer(annotator, processes=processes) as scorer,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="enrich-writer") as writer,
            progress("Enriching comments (language, sentiment, intent, terms)") as steps,
        ):
            pending: Future | None = None
            written = 0
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                tables = _score_batch(batch, scorer)
                if pending is not None:
                    pending.result()
                    steps.advance(written)
                pending = writer.submit(_write_batch, con, tables, params, replace_terms=replace_terms)
                written = batch.num_rows
                done += batch.num_rows
                log.info(
                    "enriched %d comments (%d distinct texts; %d so far)",
                    batch.num_rows,
                    tables["_texts"].num_rows,
                    done,
                )
            if pending is not None:
                pending.result()
                steps.advance(written)
    finally:
        reader.close()
    # Only after every batch is written: a run that stops half-way leaves the old watermark, and the
    # next run reads the same comments again (the hash check skips the ones already scored).
    con.execute(
        "insert or replace into tertulia.enrichment_watermark values (1, ?, ?)", [loaded_through, now]
    )
    return done


# The batch's rows joined to the results of their distinct texts (_texts, by text number) and to the
# priority of their (text, channel) pair (_priorities): DuckDB spreads them over the rows.
_ENRICHED_SQL = """
select b.platform, b.comment_id, b.content_hash, s.language, s.sentiment_score, s.sentiment_label,
       s.intent, p.priority, s.keywords, $version as model_version, $now::timestamp as enriched_at
from _batch as b
join _texts as s on s.text_no = b.text_no
join _priorities as p on p.text_no = b.text_no and p.channel is not distinct from b.channel
"""

_TERMS_SQL = """
select b.platform, b.comment_id, b.content_hash, t.term, t.surface, t.kind, s.language
from _batch as b
join _text_terms as t on t.text_no = b.text_no
join _texts as s on s.text_no = b.text_no
"""


def _score_batch(batch: pa.RecordBatch, scorer: Scorer) -> dict[str, pa.Table]:
    """Score one batch's distinct texts once: the tables _write_batch spreads over its rows."""
    # A community repeats itself ("gracias!", copy-pasted complaints, bots): each distinct text is
    # scored once, a null message being one more "text" (the annotator gives it 'und', 0, other).
    encoded = pc.dictionary_encode(batch.column("message"), null_encoding="encode")
    texts = encoded.dictionary.to_pylist()
    scored = scorer.score(texts)
    text_no = encoded.indices.cast(pa.int64())
    # The priority also reads the channel: computed once per (text, channel) pair of the batch.
    channel = pc.dictionary_encode(batch.column("channel"), null_encoding="encode")
    channels = channel.dictionary.to_pylist()
    pair = pc.add(pc.multiply(text_no, len(channels)), channel.indices.cast(pa.int64()))
    pairs = pc.unique(pair).to_pylist()
    width = len(channels)
    priorities = pa.table(
        {
            "text_no": pa.array([p // width for p in pairs], pa.int64()),
            "channel": pa.array([channels[p % width] for p in pairs], pa.string()),
            "priority": [
                priority_of(
                    scored.intent[p // width], channels[p % width], scored.sentiment_score[p // width]
                )
                for p in pairs
            ],
        }
    )
    rows = pa.table(
        {
            "platform": batch.column("platform"),
            "comment_id": batch.column("comment_id"),
            "content_hash": batch.column("content_hash"),
            "text_no": text_no,
            "channel": batch.column("channel"),
        }
    )
    results = pa.table(
        {
            "text_no": pa.array(range(len(texts)), pa.int64()),
            "language": pa.array(scored.language, pa.string()),
            "sentiment_score": pa.array(scored.sentiment_score, pa.float64()),
            "sentiment_label": pa.array(scored.sentiment_label, pa.string()),
            "intent": pa.array(scored.intent, pa.string()),
            "keywords": pa.array(scored.keywords, pa.string()),
        }
    )
    text_terms = pa.table(
        {
            "text_no": pa.array(scored.term_text, pa.int64()),
            "term": pa.array(scored.term, pa.string()),
            "surface": pa.array(scored.surface, pa.string()),
            "kind": pa.array(scored.kind, pa.string()),
        }
    )
    return {"_batch": rows, "_texts": results, "_priorities": priorities, "_text_terms": text_terms}
