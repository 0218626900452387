"""The evaluation script's arithmetic and its data file's shape."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sentiment_eval():
    spec = importlib.util.spec_from_file_location("sentiment_eval", ROOT / "bench/sentiment_eval.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_macro_f1_by_hand(sentiment_eval):
    gold = ["positive", "positive", "negative", "neutral"]
    pred = ["positive", "neutral", "negative", "neutral"]
    m = sentiment_eval.metrics(gold, pred)
    # positive P=1 R=.5 F=2/3; negative F=1; neutral P=.5 R=1 F=2/3 -> macro (2/3+1+2/3)/3
    assert m["accuracy"] == 0.75
    assert m["macro_f1"] == pytest.approx(round((2 / 3 + 1 + 2 / 3) / 3, 4))
    assert (m["f1_positive"], m["f1_negative"]) == (pytest.approx(0.6667), 1.0)


def test_split_by_id_parity(sentiment_eval):
    assert [sentiment_eval.split_of(i) for i in ("es001", "es002", "en159", "en160")] == [
        "dev",
        "test",
        "dev",
        "test",
    ]


def test_eval_set_is_large_bilingual_and_balanced(sentiment_eval):
    rows = sentiment_eval.read_set(ROOT / "bench/data/sentiment_eval.tsv")
    assert len(rows) >= 300
    assert len({r["id"] for r in rows}) == len(rows)
    by_lang = Counter(r["lang"] for r in rows)
    assert by_lang["es"] == by_lang["en"] == len(rows) // 2
    for lang in ("es", "en"):
        labels = Counter(r["label"] for r in rows if r["lang"] == lang)
        assert min(labels.values()) >= 0.3 * by_lang[lang]


def test_bad_line_names_file_and_line(sentiment_eval, tmp_path):
    p = tmp_path / "set.tsv"
    p.write_text("id\tlang\tlabel\ttext\nes001\tes\tgood\thola\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"set.tsv:2: expected id, lang, label"):
        sentiment_eval.read_set(p)
