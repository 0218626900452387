"""Sentiment, language, intent, priority and keywords on short hand-written comments."""

from __future__ import annotations

import math

import pytest

from enrichment.intent import KeywordMatcher, classify_intent, priority_of
from enrichment.language import detect_languages
from enrichment.lexicon import Lexicon, LexiconError, _read_tsv, de_elongate, fold
from enrichment.sentiment import (
    NEGATION_SCALAR,
    LexiconSentiment,
    find_entries,
    label,
    lexicon_for,
    normalize,
)

model = LexiconSentiment()


def test_fold_removes_accents_case_and_apostrophes():
    assert fold("Buenísimo PEDIDO Don't ñandú") == "buenisimo pedido dont nandu"


def test_de_elongate_offers_two_and_one_letter_spellings():
    assert de_elongate("buenisimooo") == ["buenisimoo", "buenisimo"]
    assert de_elongate("bueno") == []


def test_single_word_score_is_vader_normalised():
    # "bueno" is 1.9 in es.tsv: 1.9 / sqrt(1.9² + 15)
    assert model.score_one("bueno", "es") == pytest.approx(round(1.9 / math.sqrt(1.9**2 + 15), 4))


@pytest.mark.parametrize(
    ("text", "lang"),
    [("no me gustó", "es"), ("nada bueno", "es"), ("not good", "en"), ("never good", "en")],
)
def test_negation_within_three_words_flips(text, lang):
    assert model.score_one(text, lang) < 0


def test_negation_scales_by_vader_constant():
    # "not good": 1.9 * -0.74
    expected = normalize(1.9 * NEGATION_SCALAR)
    assert model.score_one("not good", "en") == pytest.approx(round(expected, 4))


def test_negation_does_not_cross_a_clause():
    assert model.score_one("no. bueno", "es") > 0


def test_booster_and_dampener_shift_magnitude():
    plain = model.score_one("rico", "es")
    assert model.score_one("muy rico", "es") > plain
    assert model.score_one("súper rico", "es") > plain
    assert model.score_one("un poco rico", "es") < plain
    assert model.score_one("really good", "en") > model.score_one("good", "en")


def test_accents_do_not_matter():
    assert model.score_one("pésimo", "es") == model.score_one("pesimo", "es") < 0


def test_elongation_is_found_and_emphasised():
    assert model.score_one("buenísimooo", "es") > model.score_one("buenísimo", "es") > 0


def test_emoji_carry_valence():
    assert model.score_one("😡😡", "es") < 0
    assert model.score_one("😍", "en") > 0
    assert model.score_one("ok", "en") == 0


def test_contrast_weights_the_second_clause():
    assert model.score_one("rico pero carísimo y pésimo", "es") < 0


def test_handles_are_not_words():
    assert model.score_one("@caro_v mira", "es") == 0


def test_labels_by_threshold():
    assert label(0.5) == "positive"
    assert label(-0.5) == "negative"
    assert label(0.1) == "neutral"


def test_phrase_wins_over_its_words():
    lex = lexicon_for("es")
    entries = find_entries("buenos días", lex)
    assert len(entries) == 1 and "neutral" in entries[0].kinds
    assert model.score_one("buenos días", "es") == 0


def test_malformed_lexicon_line_names_file_and_line(tmp_path):
    p = tmp_path / "xx.tsv"
    p.write_text("# c\nbueno\tvalence\tmucho\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"xx.tsv:2: value 'mucho' is not a number"):
        _read_tsv(p)
    p.write_text("bueno\tvalencia\t1\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"xx.tsv:1: unknown kind 'valencia'"):
        _read_tsv(p)


def test_prefix_terms_match_the_longest_prefix():
    lex = Lexicon()
    lex.add("encant*", "valence", 3.0)
    lex.add("encantad*", "valence", 1.0)
    assert lex.lookup("encantadora") == {"valence": 1.0}
    assert lex.lookup("encanta") == {"valence": 3.0}
    assert lex.lookup("otro") == {}


def test_language_detection_with_community_prior():
    langs = detect_languages(
        [
            "me encanta este café",
            "the coffee was cold",
            "obrigado pelo café, muito bom mesmo",
            "ok",
            None,
            "👍👍",
        ]
    )
    assert langs == ["es", "en", "pt", "und", "und", "und"]


def _intent(text, lang="es"):
    score, entries = model.analyse(text, lang)
    return classify_intent(text, entries, score)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("¿A qué hora abren?", "question"),
        ("cuándo abren el local nuevo", "question"),
        ("El pedido nunca llegó, pésimo servicio", "complaint"),
        ("quiero mi reembolso", "complaint"),
        ("¡Qué rico todo, me encantó!", "praise"),
        ("Gana dinero fácil en www.plata-rapida.xyz", "spam"),
        ("jaaaaaaaaaaaaaaaa", "spam"),
        ("eres un idiota", "spam"),
        ("Mañana paso por el local", "other"),
    ],
)
def test_intent_rules(text, expected):
    assert _intent(text) == expected


def test_english_intent():
    assert _intent("My order never arrived", "en") == "complaint"
    assert _intent("What time do you open?", "en") == "question"


def test_priority_policy():
    assert priority_of("complaint", "comment", -0.5) == "high"
    assert priority_of("other", "dm", -0.5) == "high"
    assert priority_of("other", "comment", -0.5) == "normal"
    assert priority_of("praise", "dm", 0.8) == "low"
    assert priority_of("spam", "comment", 0.0) == "low"


def test_keywords_any_language_accent_insensitive_with_suffixes():
    m = KeywordMatcher({"es": ["estafa", "intoxicación"], "en": ["refund", "food poisoning"]})
    assert m.find("ESTAFADORES, me dio intoxicacion y quiero refunds") == ["estafa", "intoxicación", "refund"]
    assert m.find("got food poisoning") == ["food poisoning"]
    assert m.find("todo bien") == []
    assert m.find(None) == []
