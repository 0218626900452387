"""enrich_new_comments scores each distinct text once (in worker processes when there are many) and
writes exactly what scoring every comment on its own gives: the annotator per row, then its terms."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from enrichment import scoring
from enrichment.annotate import Annotator
from enrichment.scoring import Scorer, score_texts
from enrichment.store import annotator_for, enrich_new_comments
from tertulia.config import parse_config
from tertulia.raw_schema import ensure_raw_tables
from tertulia.terms import extract_terms

NOW = dt.datetime(2026, 3, 1, 12, 0)
ROOT = Path(__file__).resolve().parents[2]
CHANNELS = ["comment", "dm", None, "review"]


def eval_texts() -> list[str]:
    """Every text of both sentiment evaluation sets (the text is the last column)."""
    texts = []
    for name in ("sentiment_eval.tsv", "sentiment_hard.tsv"):
        lines = (ROOT / "bench" / "data" / name).read_text(encoding="utf-8").splitlines()[1:]
        texts += [line.split("\t")[-1] for line in lines if line.strip()]
    return texts


@pytest.fixture
def config():
    return parse_config(
        {
            "community": {"name": "t"},
            "crisis": {"keywords": {"es": ["estafa", "reembolso"], "en": ["scam", "refund"]}},
        }
    )


@pytest.fixture
def con():
    c = duckdb.connect()
    ensure_raw_tables(c)
    yield c
    c.close()


def per_row_reference(annotator: Annotator, rows: list[tuple]) -> tuple[set, list]:
    """What the engine gave before batching by text: the annotator over every row, then its terms."""
    texts = [r[2] for r in rows]
    ann = annotator.annotate(texts, [r[3] for r in rows])
    enrichment = set()
    terms = []
    for i, (platform, comment_id, text, _channel) in enumerate(rows):
        enrichment.add(
            (
                platform,
                comment_id,
                ann.language[i],
                ann.sentiment_score[i],
                ann.sentiment_label[i],
                ann.intent[i],
                ann.priority[i],
                ann.keywords[i],
            )
        )
        terms += [
            (platform, comment_id, t.term, t.surface, t.kind, ann.language[i])
            for t in extract_terms(text, ann.language[i])
        ]
    return enrichment, sorted(terms)


def stored(con) -> tuple[set, list]:
    enrichment = set(
        con.execute(
            "select platform, comment_id, language, sentiment_score, sentiment_label, intent, priority, keywords "
            "from raw.comment_enrichment"
        ).fetchall()
    )
    terms = sorted(
        con.execute(
            "select platform, comment_id, term, surface, kind, language from raw.comment_terms"
        ).fetchall()
    )
    return enrichment, terms


def eval_rows() -> list[tuple]:
    """The evaluation texts three times over, in different channels and batches, plus empty messages."""
    texts = eval_texts()
    rows = []
    for copy in range(3):
        for i, text in enumerate(texts):
            rows.append(("ig", f"c{copy}-{i}", text, CHANNELS[(i + copy) % len(CHANNELS)]))
    rows += [("ig", "empty", "", "dm"), ("ig", "null", None, "comment"), ("fb", "null", None, None)]
    return rows


def add(con, rows):
    con.executemany(
        "insert into raw.comments (platform, comment_id, author_id, created_at, message, channel) "
        "values (?, ?, 'u', '2026-01-01T00:00:00Z', ?, ?)",
        rows,
    )


@pytest.mark.parametrize("processes", [1, 2])
def test_evaluation_set_scores_as_one_row_at_a_time(con, config, monkeypatch, processes):
    rows = eval_rows()
    add(con, rows)
    # Small batches (texts repeat across them: the run's cache) and, with 2 processes, worker
    # processes from the first batch on.
    monkeypatch.setattr(scoring, "PARALLEL_MIN_TEXTS", 50)
    assert enrich_new_comments(con, config, batch_size=400, now=NOW, processes=processes) == len(rows)
    assert stored(con) == per_row_reference(annotator_for(config), rows)


def test_a_repeated_text_is_scored_once_and_its_priority_follows_the_channel(con, config):
    angry = "Esto es una estafa, nadie responde"
    add(
        con,
        [
            ("ig", "c1", angry, "dm"),
            ("ig", "c2", angry, "comment"),
            ("fb", "c3", angry, "dm"),
            ("fb", "c4", "Gracias!", "comment"),
        ],
    )
    assert enrich_new_comments(con, config, now=NOW) == 4
    rows = con.execute(
        "select comment_id, sentiment_label, intent, priority, keywords from raw.comment_enrichment order by 1"
    ).fetchall()
    # A scam complaint: negative, a complaint (so high priority in any channel), keyword "estafa".
    assert rows[:3] == [
        ("c1", "negative", "complaint", "high", "estafa"),
        ("c2", "negative", "complaint", "high", "estafa"),
        ("c3", "negative", "complaint", "high", "estafa"),
    ]
    assert rows[3][0] == "c4" and rows[3][4] is None


def test_priority_of_one_text_differs_by_channel(con, config):
    # A negative message that is no complaint: high in a direct message, normal in a public comment.
    sad = "Muy triste, el local estaba cerrado hoy :("
    add(con, [("ig", "d1", sad, "dm"), ("ig", "p1", sad, "comment")])
    enrich_new_comments(con, config, now=NOW)
    rows = dict(
        con.execute(
            "select comment_id, intent || '/' || sentiment_label || '/' || priority from raw.comment_enrichment"
        ).fetchall()
    )
    assert rows == {"d1": "other/negative/high", "p1": "other/negative/normal"}


def test_scorer_scores_each_new_text_once_per_run(config):
    annotator = annotator_for(config)
    with Scorer(annotator, processes=1) as scorer:
        first = scorer.score(["hola", "gracias!", None])
        second = scorer.score(["gracias!", "muy rico", "hola"])
        assert scorer.scored_texts == 4  # hola, gracias!, None, muy rico
    assert second.language == [
        first.language[1],
        score_texts(annotator, ["muy rico"]).language[0],
        first.language[0],
    ]
    expected = score_texts(annotator, ["gracias!", "muy rico", "hola"])
    assert (second.sentiment_score, second.intent, second.term_text, second.term) == (
        expected.sentiment_score,
        expected.intent,
        expected.term_text,
        expected.term,
    )


def test_scorer_forgets_past_its_cache_size_and_still_scores_right(config):
    annotator = annotator_for(config)
    with Scorer(annotator, processes=1, cache_texts=3) as scorer:
        scorer.score(["uno dos", "tres cuatro"])
        out = scorer.score(["cinco seis", "siete", "uno dos"])  # 5 texts known: forgets, scores these 3
        assert scorer.scored_texts == 5
    expected = score_texts(annotator, ["cinco seis", "siete", "uno dos"])
    assert (out.term_text, out.term, out.surface) == (expected.term_text, expected.term, expected.surface)


def test_workers_setting_must_be_a_positive_number(monkeypatch):
    monkeypatch.setenv(scoring.WORKERS_ENV, "two")
    with pytest.raises(ValueError, match="TERTULIA_ENRICH_WORKERS='two'"):
        scoring.workers()
    monkeypatch.setenv(scoring.WORKERS_ENV, "0")
    with pytest.raises(ValueError, match="at least 1"):
        scoring.workers()
    monkeypatch.setenv(scoring.WORKERS_ENV, "3")
    assert scoring.workers() == 3


def test_worker_processes_score_as_this_process_does(config):
    annotator = annotator_for(config)
    texts = eval_texts()[:120] + [None, ""]
    with Scorer(annotator, processes=2, min_parallel=1) as scorer:
        out = scorer.score(texts)
        assert scorer._pool is not None  # the texts went to the worker processes
    assert out == score_texts(annotator, texts)


def test_workers_that_cannot_start_leave_the_scoring_to_this_process(config, caplog):
    annotator = annotator_for(config)
    texts = eval_texts()[:40]
    with Scorer(annotator, processes=2, min_parallel=1) as scorer:
        scorer._pickled = b"not a pickled annotator"  # each worker's start-up fails
        out = scorer.score(texts)
        assert scorer.processes == 1
    assert out == score_texts(annotator, texts)
    assert "scoring in this process from now on" in caplog.text
