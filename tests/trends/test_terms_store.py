"""raw.comment_terms: written with the enrichment of the same comments, replaced on re-scoring, computed
again for every scored comment once when the tokenisation rules change, never on an ordinary run."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from enrichment import store
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
    return parse_config({"community": {"name": "t"}})


def add(con, rows):
    con.executemany(
        "insert into raw.comments (platform, comment_id, author_id, created_at, message, channel) "
        "values (?, ?, 'u', '2026-01-01T00:00:00Z', ?, 'comment')",
        rows,
    )


def terms(con):
    return con.execute(
        "select platform, comment_id, term, surface, kind, language from raw.comment_terms order by all"
    ).fetchall()


def test_terms_written_with_the_enrichment_and_replaced_when_rescored(con, config):
    add(con, [("ig", "c1", "Hay vidrio en el café"), ("ig", "c2", "I want a refund for this order #Scam")])
    assert enrich_new_comments(con, config, now=NOW) == 2
    assert terms(con) == [
        ("ig", "c1", "caf", "café", "word", "es"),
        ("ig", "c1", "vidri", "vidrio", "word", "es"),
        ("ig", "c2", "#scam", "#Scam", "hashtag", "en"),
        ("ig", "c2", "order", "order", "word", "en"),
        ("ig", "c2", "refund", "refund", "word", "en"),
        ("ig", "c2", "want", "want", "word", "en"),
    ]
    hashes = dict(con.execute("select comment_id, content_hash from raw.comment_enrichment").fetchall())
    assert set(con.execute("select comment_id, content_hash from raw.comment_terms").fetchall()) == set(
        hashes.items()
    )
    later = NOW + dt.timedelta(hours=1)
    con.execute(
        "update raw.comments set message = 'Todo bien, gracias', _loaded_at = ? where comment_id = 'c1'",
        [later],
    )
    assert enrich_new_comments(con, config, now=later) == 1
    got = terms(con)
    # "todo" and "bien" are stopwords
    assert [t for t in got if t[1] == "c1"] == [("ig", "c1", "graci", "gracias", "word", "es")]
    assert len([t for t in got if t[1] == "c2"]) == 4  # untouched


def test_an_ordinary_run_does_not_tokenise_history_again(con, config, monkeypatch):
    add(con, [("ig", "c1", "Hay vidrio en el café")])
    enrich_new_comments(con, config, now=NOW)
    calls = []
    monkeypatch.setattr(store, "extract_terms", lambda *a: calls.append(a) or [])
    add(con, [("ig", "c2", "Otro mensaje")])
    enrich_new_comments(con, config, now=NOW + dt.timedelta(hours=1))
    assert calls == []  # the re-tokenising path (the only user of extract_terms in store) did not run
    assert ("ig", "c2", "mensaj", "mensaje", "word", "es") in terms(con)


def test_new_rules_retokenise_every_scored_comment_once(con, config, monkeypatch):
    add(con, [("ig", "c1", "Hay vidrio en el café"), ("ig", "c2", "Hay vidrio en el café")])
    enrich_new_comments(con, config, now=NOW)
    con.execute("delete from raw.comment_terms")  # as if written by older rules, or before terms existed
    monkeypatch.setattr(store, "TERMS_VERSION", "next")
    assert enrich_new_comments(con, config, now=NOW + dt.timedelta(hours=1)) == 0  # nothing re-scored
    assert terms(con) == [
        ("ig", "c1", "caf", "café", "word", "es"),
        ("ig", "c1", "vidri", "vidrio", "word", "es"),
        ("ig", "c2", "caf", "café", "word", "es"),
        ("ig", "c2", "vidri", "vidrio", "word", "es"),
    ]
    assert con.execute("select version from tertulia.terms_state").fetchall() == [("next",)]
    con.execute("delete from raw.comment_terms where comment_id = 'c2'")
    enrich_new_comments(con, config, now=NOW + dt.timedelta(hours=2))
    assert len(terms(con)) == 2  # same rules: not tokenised again


def test_a_failed_terms_write_leaves_the_enrichment_unwritten(con, config, monkeypatch):
    add(con, [("ig", "c1", "Hay vidrio en el café")])

    # Terms rows without the terms' columns: the insert into raw.comment_terms fails.
    monkeypatch.setattr(store, "_TERMS_SQL", "select b.platform from _batch as b")
    with pytest.raises(duckdb.Error):
        enrich_new_comments(con, config, now=NOW)
    assert con.execute("select count(*) from raw.comment_enrichment").fetchone()[0] == 0
