"""Terms of a message (tertulia/terms.py): Spanish and English, accents, elongations, hashtags,
mentions, code-switching, and what is left out. Expected keys are Snowball's stems, checked by hand."""

from __future__ import annotations

import pytest

from tertulia.terms import extract_terms, fold, stem, terms_table, unelongate


def keys(text: str, language: str) -> list[str]:
    return [t.term for t in extract_terms(text, language)]


def by_key(text: str, language: str) -> dict[str, tuple[str, str]]:
    return {t.term: (t.surface, t.kind) for t in extract_terms(text, language)}


def test_spanish_words_and_phrases_without_stopwords():
    terms = by_key("Vidrio en el café, mi hijo casi se lo toma. Exijo reembolso ya", "es")
    assert terms == {
        "vidri": ("vidrio", "word"),
        "caf": ("café", "word"),
        "hij": ("hijo", "word"),
        "tom": ("toma", "word"),
        "exij": ("exijo", "word"),
        "reembols": ("reembolso", "word"),
        # "vidrio en el café" has stopwords between, "café, mi hijo" a comma: only this pair is adjacent
        "exij reembols": ("exijo reembolso", "phrase"),
    }


def test_english_plural_and_verb_endings_share_a_key():
    assert keys("I want a refund now", "en") == ["want", "refund"]
    assert keys("refunds refunded refunding", "en") == ["refund"]
    assert stem("deliveries") == stem("delivery") == "deliveri"


def test_spanish_plural_shares_a_key_and_accents_fold():
    assert stem(fold("reembolsos")) == stem(fold("reembolso")) == "reembols"
    # a member typing without accents gets the same key, the surface keeps what was written
    assert by_key("intoxicación", "es") == {"intox": ("intoxicación", "word")}
    assert by_key("INTOXICACION", "es") == {"intox": ("intoxicacion", "word")}


def test_fold_keeps_enye():
    assert fold("Año Pequeño Café") == "año pequeño cafe"


@pytest.mark.parametrize(
    ("word", "expected"),
    [("siiiii", "si"), ("noooo", "no"), ("graciaaaas", "gracias"), ("cool", "cool"), ("llegó", "llegó")],
)
def test_elongated_words(word, expected):
    assert unelongate(word) == expected


def test_elongated_stopwords_drop_and_elongated_words_match_their_plain_form():
    assert keys("Siiiii noooo", "es") == []
    assert keys("buenísimoooo", "es") == keys("buenísimo", "es") == ["buenisim"]


def test_hashtags_and_mentions_are_their_own_kind_and_never_stemmed():
    terms = by_key("Me encantó #GeishaReserva con @BaristaAna!!! #CaféDeOrigen", "es")
    assert terms["#geishareserva"] == ("#GeishaReserva", "hashtag")
    assert terms["@baristaana"] == ("@BaristaAna", "mention")
    assert terms["#cafedeorigen"] == ("#CaféDeOrigen", "hashtag")
    assert set(terms) == {"encant", "#geishareserva", "@baristaana", "#cafedeorigen"}


def test_urls_emails_numbers_and_emoji_are_left_out():
    text = "Mira https://tienda.example/geisha?x=1 o escribe a ana@correo.ec 2026 😡🔥 www.cafe.ec pedido"
    assert keys(text, "es") == ["mir", "escrib", "ped"]


def test_emoji_between_words_ends_a_phrase():
    assert keys("entrega 😡 tarde", "es") == ["entreg", "tard"]
    assert keys("entrega tarde", "es") == ["entreg", "tard", "entreg tard"]


def test_code_switching_spanish_message_with_english_words():
    # detected Spanish: English stopwords are removed too, and "refund" gets the key an English message gives it
    es = by_key("El delivery llegó tarde, I want my refund", "es")
    en = by_key("I want my refund", "en")
    assert "refund" in es and es["refund"] == en["refund"] == ("refund", "word")
    assert "my" not in " ".join(es) and "el" not in es
    assert es["deliveri"] == ("delivery", "word")
    assert es["lleg tard"] == ("llegó tarde", "phrase")


def test_each_term_counts_once_per_message_with_its_first_surface():
    assert by_key("Reembolso, reembolsos, REEMBOLSO", "es") == {"reembols": ("reembolso", "word")}


def test_keys_do_not_depend_on_the_detected_language():
    # Spanish snowball gives "nitr", English leaves "nitro": the shorter stem is the key in both
    expected = ["nitr", "cold", "nitr cold", "brew", "cold brew"]
    assert (
        keys("Nitro cold brew", "es")
        == keys("Nitro cold brew", "en")
        == keys("Nitro cold brew", "und")
        == expected
    )
    # English endings Spanish snowball leaves alone ("refunds"), and the reverse ("reservas")
    assert stem("refunds") == "refund" and stem("reservas") == stem("reserva") == "reserv"
    assert keys("", "es") == [] and keys(None, "es") == []


def test_terms_table_rows_per_comment_and_term():
    table = terms_table(["ig", "ig"], ["c1", "c2"], ["h1", "h2"], ["vidrio roto", None], ["es", "es"])
    assert table.to_pylist() == [
        {
            "platform": "ig",
            "comment_id": "c1",
            "content_hash": "h1",
            "term": "vidri",
            "surface": "vidrio",
            "kind": "word",
            "language": "es",
        },
        {
            "platform": "ig",
            "comment_id": "c1",
            "content_hash": "h1",
            "term": "rot",
            "surface": "roto",
            "kind": "word",
            "language": "es",
        },
        {
            "platform": "ig",
            "comment_id": "c1",
            "content_hash": "h1",
            "term": "vidri rot",
            "surface": "vidrio roto",
            "kind": "phrase",
            "language": "es",
        },
    ]
