"""The evaluation script's arithmetic and its data file's shape."""

from __future__ import annotations

import ast
import importlib.util
import unicodedata
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


def test_class_macro_f1_uses_the_labels_of_the_class(sentiment_eval):
    # A class whose gold labels are negative and neutral: positive's F1 (0) is not averaged in.
    gold = ["negative", "negative", "negative", "neutral"]
    pred = ["negative", "negative", "positive", "neutral"]
    m = sentiment_eval.class_metrics(gold, pred)
    # negative P=1 R=2/3 F=0.8; neutral P=1 R=1 F=1 -> (0.8 + 1) / 2
    assert m["macro_f1"] == 0.9
    assert "f1_positive" not in m


def test_hash_split_is_the_first_byte_parity_of_sha256(sentiment_eval):
    # sha256(b"a")[0] = 0xca (even), sha256(b"b")[0] = 0x3e (even), sha256(b"c")[0] = 0x2e (even),
    # sha256(b"d")[0] = 0x18 (even), sha256(b"e")[0] = 0x3f (odd)
    assert [sentiment_eval.hash_split(t) for t in "abcde"] == ["dev", "dev", "dev", "dev", "test"]


def test_hard_set_covers_every_class_in_both_halves_and_languages(sentiment_eval):
    rows = sentiment_eval.read_hard_set(ROOT / "bench/data/sentiment_hard.tsv")
    by_lang = Counter(r["lang"] for r in rows)
    assert by_lang["es"] >= 200 and by_lang["en"] >= 200
    cells = Counter((r["lang"], r["class"], r["split"]) for r in rows)
    for lang in ("es", "en"):
        for cls in sentiment_eval.CLASSES:
            assert cells[(lang, cls, "dev")] >= 10 and cells[(lang, cls, "test")] >= 10, (lang, cls)
    varieties = {(r["lang"], r["variety"]) for r in rows}
    assert {("es", "ec"), ("es", "es"), ("en", "us"), ("en", "uk")} <= varieties


def test_hard_set_refuses_a_row_moved_between_halves(sentiment_eval, tmp_path):
    header = "\t".join(sentiment_eval.HARD_HEADER)
    p = tmp_path / "hard.tsv"
    # "e" hashes to test; the file says dev.
    p.write_text(f"{header}\nx1\tes\tec\tplain\tneutral\tdev\te\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"hard.tsv:2: split 'dev' disagrees with the hash"):
        sentiment_eval.read_hard_set(p)
    p.write_text(f"{header}\nx1\tes\tec\tirony\tneutral\ttest\te\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"hard.tsv:2: class 'irony' is not one of"):
        sentiment_eval.read_hard_set(p)
    p.write_text(
        f"{header}\nx1\tes\tec\tplain\tneutral\ttest\te\nx2\ten\tus\tplain\tneutral\ttest\te\n",
        encoding="utf-8",
    )
    with pytest.raises(SystemExit, match=r"hard.tsv:3: the same text as line 2"):
        sentiment_eval.read_hard_set(p)


def test_bad_line_names_file_and_line(sentiment_eval, tmp_path):
    p = tmp_path / "set.tsv"
    p.write_text("id\tlang\tlabel\ttext\nes001\tes\tgood\thola\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"set.tsv:2: expected id, lang, label"):
        sentiment_eval.read_set(p)


def normalised(text: str) -> str:
    """A text folded like the lexicons (case, accents, apostrophes), letters, digits and symbols
    (emoji) only, one space between words: two texts equal here say the same thing."""
    from enrichment.lexicon import fold

    kept = "".join(ch if unicodedata.category(ch)[0] in "LNS" else " " for ch in fold(text))
    return " ".join(kept.split())


def test_normalised_ignores_case_accents_punctuation_and_keeps_emoji():
    assert normalised("¡Qué  RICO, el café!") == normalised("que rico el cafe") == "que rico el cafe"
    assert normalised("😍😍☕") != normalised("😡📦")
    assert normalised("Don't") == "dont"


def _hand_made_texts() -> set[str]:
    """The comments the rules were written from by hand: every string of the hard-case unit tests
    that holds a space (the sentences, not the names or labels)."""
    tree = ast.parse((ROOT / "tests/enrichment/test_enrichment_hard_cases.py").read_text(encoding="utf-8"))
    return {
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and " " in n.value.strip()
    }


def test_fresh_set_is_blind_large_and_covers_the_hard_classes(sentiment_eval):
    fresh = sentiment_eval.read_hard_set(ROOT / "bench/data/sentiment_fresh.tsv", sentiment_eval.FRESH_HEADER)
    cells = Counter((r["lang"], r["class"]) for r in fresh)
    for lang in ("es", "en"):
        assert sum(n for (lg, _), n in cells.items() if lg == lang) >= 60
        for cls in ("sarcasm", "complaint", "slang"):
            assert cells[(lang, cls)] >= 12, (lang, cls)
    assert {r["split"] for r in fresh} == {"fresh"}
    hard = sentiment_eval.read_hard_set(ROOT / "bench/data/sentiment_hard.tsv")
    plain = sentiment_eval.read_set(ROOT / "bench/data/sentiment_eval.tsv")
    held_out = {normalised(r["text"]) for r in hard + plain if r["split"] == "test"}
    # Neither the fresh check set nor the texts the rules were written from may be a test comment.
    assert not {normalised(r["text"]) for r in fresh} & held_out
    assert not {normalised(t) for t in _hand_made_texts()} & held_out
    # The fresh set measures what tuning never read: none of it is a dev comment or a unit test's.
    tuned_on = {normalised(r["text"]) for r in hard + plain if r["split"] == "dev"}
    tuned_on |= {normalised(t) for t in _hand_made_texts()}
    assert not {normalised(r["text"]) for r in fresh} & tuned_on


def test_new_dev_and_blind_sets_have_the_size_the_round_needs_and_never_meet_the_held_out_rows(
    sentiment_eval,
):
    newdev = sentiment_eval.read_hard_set(sentiment_eval.NEWDEV_SET, sentiment_eval.FRESH_HEADER, "newdev")
    blind = sentiment_eval.read_hard_set(sentiment_eval.BLIND_SET, sentiment_eval.FRESH_HEADER, "blind")
    assert {r["split"] for r in newdev} == {"newdev"} and {r["split"] for r in blind} == {"blind"}
    for rows, least in (
        (newdev, {"sarcasm": 60, "complaint": 40, "slang": 40}),
        (blind, dict.fromkeys(("sarcasm", "complaint", "slang"), 30)),
    ):
        for lang in ("es", "en"):
            for cls, n in least.items():
                # the class itself (sarcastic, complaining, slang), then its sincere look-alikes
                meant = [
                    r for r in rows if (r["lang"], r["class"]) == (lang, cls) and r["label"] != "neutral"
                ]
                if cls != "slang":
                    meant = [r for r in meant if r["label"] == "negative"]
                assert len(meant) >= n, (lang, cls)
                assert any(
                    r["label"] != "negative" for r in rows if (r["lang"], r["class"]) == (lang, cls)
                ), (lang, cls)
        assert {r["variety"] for r in rows} == {"ec", "es", "mx", "an", "us", "uk"}
    hard = sentiment_eval.read_hard_set(ROOT / "bench/data/sentiment_hard.tsv")
    plain = sentiment_eval.read_set(ROOT / "bench/data/sentiment_eval.tsv")
    fresh = sentiment_eval.read_hard_set(sentiment_eval.FRESH_SET, sentiment_eval.FRESH_HEADER)
    held_out = {normalised(r["text"]) for r in hard + plain if r["split"] == "test"}
    held_out |= {normalised(r["text"]) for r in fresh + blind}
    # Tuning read the new dev set: none of it may be a held-out comment.
    assert not {normalised(r["text"]) for r in newdev} & held_out
    # The blind set is none of what tuning read: dev rows, new dev rows, unit-test texts.
    tuned_on = {normalised(r["text"]) for r in hard + plain if r["split"] == "dev"}
    tuned_on |= {normalised(r["text"]) for r in newdev} | {normalised(t) for t in _hand_made_texts()}
    assert not {normalised(r["text"]) for r in blind} & tuned_on
    test_rows = {normalised(r["text"]) for r in hard + plain if r["split"] == "test"}
    assert not {normalised(r["text"]) for r in blind} & test_rows


def test_tuning_runs_drop_every_held_out_row_before_scoring(sentiment_eval):
    args = sentiment_eval.argparse.Namespace(
        plain=sentiment_eval.PLAIN_SET,
        hard=sentiment_eval.HARD_SET,
        fresh=sentiment_eval.FRESH_SET,
        newdev=sentiment_eval.NEWDEV_SET,
        blind=sentiment_eval.BLIND_SET,
        blind2=sentiment_eval.BLIND2_SET,
        tuning=True,
    )
    sets = sentiment_eval._load_sets(args)
    # the first blind set is development data since the lexicon-6 round; fresh and blind2 are held out
    assert set(sets) == {"plain", "hard", "newdev", "blind"}
    assert {r["split"] for rows in sets.values() for r in rows} == {"dev", "newdev", "blind"}


def test_second_blind_set_has_the_size_the_round_needs_and_is_none_of_what_tuning_read(sentiment_eval):
    blind2 = sentiment_eval.read_hard_set(sentiment_eval.BLIND2_SET, sentiment_eval.FRESH_HEADER, "blind2")
    assert {r["split"] for r in blind2} == {"blind2"}
    for lang in ("es", "en"):
        rows = [r for r in blind2 if r["lang"] == lang]
        cells = Counter((r["class"], r["label"]) for r in rows)
        # the class itself: sarcastic and complaining comments are negative, slang carries a verdict
        assert cells[("sarcasm", "negative")] >= 40 and cells[("complaint", "negative")] >= 40, lang
        assert cells[("slang", "positive")] + cells[("slang", "negative")] >= 30, lang
        # the plain and sincere look-alikes: real thanks, neutral mentions, literal slang
        look_alikes = (
            cells[("sarcasm", "positive")] + cells[("complaint", "neutral")] + cells[("slang", "neutral")]
        )
        assert look_alikes >= 20, lang
    varieties = {(r["lang"], r["variety"]) for r in blind2}
    assert {("es", v) for v in ("ec", "es", "mx", "an", "ar", "co")} | {
        ("en", v) for v in ("us", "uk", "au")
    } == (varieties)
    hard = sentiment_eval.read_hard_set(ROOT / "bench/data/sentiment_hard.tsv")
    plain = sentiment_eval.read_set(ROOT / "bench/data/sentiment_eval.tsv")
    newdev = sentiment_eval.read_hard_set(sentiment_eval.NEWDEV_SET, sentiment_eval.FRESH_HEADER, "newdev")
    blind = sentiment_eval.read_hard_set(sentiment_eval.BLIND_SET, sentiment_eval.FRESH_HEADER, "blind")
    fresh = sentiment_eval.read_hard_set(sentiment_eval.FRESH_SET, sentiment_eval.FRESH_HEADER)
    known = {normalised(r["text"]) for r in hard + plain + newdev + blind + fresh}
    known |= {normalised(t) for t in _hand_made_texts()}
    assert not {normalised(r["text"]) for r in blind2} & known


def test_a_set_may_say_when_it_was_written_above_its_header(sentiment_eval, tmp_path):
    p = tmp_path / "set.tsv"
    header = "\t".join(sentiment_eval.FRESH_HEADER)
    p.write_text(
        f"# written 2026-11-28\n{header}\nx1\tes\tec\tslang\tpositive\tqué chévere\n", encoding="utf-8"
    )
    rows = sentiment_eval.read_hard_set(p, sentiment_eval.FRESH_HEADER, "blind")
    assert [(r["id"], r["split"]) for r in rows] == [("x1", "blind")]
    p.write_text("# written 2026-11-28\nid\tlang\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"set.tsv:2: expected the header"):
        sentiment_eval.read_hard_set(p, sentiment_eval.FRESH_HEADER, "blind")
