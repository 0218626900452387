"""enrich_new_comments: only new or edited comments are scored, in batches, written back once each."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from enrichment.store import enrich_new_comments
from tertulia.config import parse_config
from tertulia.raw_schema import ensure_raw_tables

NOW = dt.datetime(2026, 3, 1, 12, 0)


@pytest.fixture
def con():
    c = duckdb.connect()
    ensure_raw_tables(c)
    yield c
    c.close()


@pytest.fixture
def config():
    return parse_config(
        {"community": {"name": "t"}, "crisis": {"keywords": {"es": ["estafa"], "en": ["scam"]}}}
    )


def add(con, rows):
    con.executemany(
        "insert into raw.comments (platform, comment_id, author_id, created_at, message, channel) "
        "values (?, ?, 'u', '2026-01-01T00:00:00Z', ?, ?)",
        rows,
    )


def enrichment(con):
    return {
        r[0]: r[1:]
        for r in con.execute(
            "select comment_id, language, sentiment_label, intent, priority, keywords, enriched_at "
            "from raw.comment_enrichment order by comment_id"
        ).fetchall()
    }


def test_scores_each_comment_once(con, config):
    add(
        con,
        [
            ("instagram", "c1", "Esto es una estafa, pésimo servicio, quiero mi reembolso", "comment"),
            ("instagram", "c2", "¿A qué hora abren mañana?", "comment"),
            ("instagram", "c3", "This is a scam, terrible", "dm"),
            ("facebook", "c1", "Me encantó el café, buenísimo 😍", "comment"),
        ],
    )
    assert enrich_new_comments(con, config, now=NOW) == 4
    rows = con.execute(
        "select platform, comment_id, language, sentiment_label, intent, priority, keywords, model_version "
        "from raw.comment_enrichment order by platform, comment_id"
    ).fetchall()
    assert rows == [
        ("facebook", "c1", "es", "positive", "praise", "low", None, "lexicon-6"),
        ("instagram", "c1", "es", "negative", "complaint", "high", "estafa", "lexicon-6"),
        ("instagram", "c2", "es", "neutral", "question", "normal", None, "lexicon-6"),
        ("instagram", "c3", "en", "negative", "complaint", "high", "scam", "lexicon-6"),
    ]
    # a second run finds nothing to do and rewrites nothing
    assert enrich_new_comments(con, config, now=NOW + dt.timedelta(hours=1)) == 0
    assert {r[-1] for r in enrichment(con).values()} == {NOW}


def test_edited_comment_is_scored_again(con, config):
    add(con, [("instagram", "c1", "Me encantó", "comment"), ("instagram", "c2", "Hola", "comment")])
    enrich_new_comments(con, config, now=NOW)
    later = NOW + dt.timedelta(hours=2)
    # an edit lands as a new version of the row, with its own landing time
    con.execute(
        "update raw.comments set message = 'Lo odio, una estafa', _loaded_at = ? where comment_id = 'c1'",
        [later],
    )
    assert enrich_new_comments(con, config, now=later) == 1
    got = enrichment(con)
    assert got["c1"][1] == "negative" and got["c1"][4] == "estafa" and got["c1"][5] == later
    assert got["c2"][5] == NOW
    assert con.execute("select count(*) from raw.comment_enrichment").fetchone()[0] == 2


def test_batches_cover_everything_once(con, config):
    add(con, [("youtube", f"c{i:03d}", "muy bueno" if i % 2 else "muy malo", "comment") for i in range(25)])
    assert enrich_new_comments(con, config, batch_size=7, now=NOW) == 25
    counts = dict(
        con.execute("select sentiment_label, count(*) from raw.comment_enrichment group by 1").fetchall()
    )
    assert counts == {"positive": 12, "negative": 13}


def test_empty_message_is_neutral_und(con, config):
    add(con, [("x", "c1", None, "comment"), ("x", "c2", "", "comment")])
    assert enrich_new_comments(con, config, now=NOW) == 2
    assert {v[:3] for v in enrichment(con).values()} == {("und", "neutral", "other")}


def test_member_text_is_never_sql(con, config):
    add(con, [("x", "c1", "'); drop table raw.comments; --", "comment")])
    assert enrich_new_comments(con, config, now=NOW) == 1
    assert con.execute("select count(*) from raw.comments").fetchone()[0] == 1


def test_a_run_reads_only_what_landed_since_the_last_one(con, config):
    landed = dt.datetime(2026, 3, 1, 10, 0)
    add(con, [("x", "c1", "muy bueno", "comment")])
    con.execute("update raw.comments set _loaded_at = ?", [landed])
    assert enrich_new_comments(con, config, now=NOW) == 1
    assert con.execute("select loaded_through from tertulia.enrichment_watermark").fetchone()[0] == landed
    # An unscored comment landed before the watermark (less the 15-minute margin) is not looked at:
    # nothing lands that way (landing times only grow), and skipping them is what keeps a run small.
    add(con, [("x", "old", "muy malo", "comment"), ("x", "new", "muy malo", "comment")])
    con.execute(
        "update raw.comments set _loaded_at = ? where comment_id = 'old'", [landed - dt.timedelta(hours=1)]
    )
    con.execute(
        "update raw.comments set _loaded_at = ? where comment_id = 'new'", [landed - dt.timedelta(minutes=5)]
    )
    assert enrich_new_comments(con, config, now=NOW) == 1
    assert set(enrichment(con)) == {"c1", "new"}
    # emptying the enrichment table asks for everything to be scored again
    con.execute("delete from raw.comment_enrichment")
    assert enrich_new_comments(con, config, now=NOW) == 3


def terms_of(con):
    return con.execute(
        "select comment_id, term, count(*) from raw.comment_terms group by all order by all"
    ).fetchall()


def test_terms_once_per_comment_from_empty_and_after_a_rescore(con, config):
    add(
        con,
        [
            ("instagram", "c1", "Pésimo servicio, quiero mi reembolso", "comment"),
            ("instagram", "c2", "Pésimo servicio, quiero mi reembolso", "dm"),
            ("instagram", "c3", "Me encantó el café", "comment"),
        ],
    )
    # From an empty terms table (a backfill): the batches only add terms, nothing is deleted.
    enrich_new_comments(con, config, batch_size=2, now=NOW)
    first = terms_of(con)
    assert {cid for cid, _, _ in first} == {"c1", "c2", "c3"}
    assert ("c1", "reembols", 1) in first and all(n == 1 for _, _, n in first)
    # Emptying the enrichment alone asks for a re-score: the terms kept from the first run are
    # replaced, not written a second time beside themselves.
    con.execute("delete from raw.comment_enrichment")
    assert enrich_new_comments(con, config, batch_size=2, now=NOW + dt.timedelta(hours=1)) == 3
    assert terms_of(con) == first


def test_rescore_scores_again_what_an_earlier_engine_scored_whenever_it_landed(con, config):
    from enrichment.sentiment import ENGINE_VERSION

    landed = dt.datetime(2026, 2, 1, 10, 0)
    add(
        con,
        [
            ("x", "old", "Pésimo servicio, quiero mi reembolso", "comment"),
            ("x", "kept", "muy bueno", "comment"),
        ],
    )
    con.execute("update raw.comments set _loaded_at = ?", [landed])
    assert enrich_new_comments(con, config, now=NOW) == 2
    terms = terms_of(con)
    # an earlier engine had scored 'old' (by hand: a version and a label this engine never gives it)
    con.execute(
        "update raw.comment_enrichment set model_version = 'lexicon-0', sentiment_label = 'positive' where comment_id = 'old'"
    )
    # a month later a new comment lands: the ordinary run reads only what landed since, as always
    add(con, [("x", "new", "gracias", "comment")])
    con.execute(
        "update raw.comments set _loaded_at = ? where comment_id = 'new'", [landed + dt.timedelta(days=30)]
    )
    assert enrich_new_comments(con, config, now=NOW) == 1
    assert enrichment(con)["old"][1] == "positive"
    # the re-score finds the comment of a month ago by its version alone, and only it
    later = NOW + dt.timedelta(hours=1)
    assert enrich_new_comments(con, config, now=later, rescore=True) == 1
    rows = con.execute(
        "select comment_id, sentiment_label, model_version, enriched_at from raw.comment_enrichment order by 1"
    ).fetchall()
    assert rows[2] == ("old", "negative", ENGINE_VERSION, later)
    assert [r[3] for r in rows[:2]] == [NOW, NOW]  # 'kept' and 'new' untouched
    # its terms are replaced, not written twice
    assert [t for t in terms_of(con) if t[0] != "new"] == terms
    assert enrich_new_comments(con, config, now=later, rescore=True) == 0
