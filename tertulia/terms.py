"""Terms of each message, for the trend marts: words, two-word phrases, hashtags and @mentions.

Computed once per version of a message's text, in the enrichment step (enrichment.store), and stored
in `raw.comment_terms`, so the trend models aggregate stored rows and never re-tokenise history. The
module sits in the core, below both enrichment and alerts, because the trend alerts stem the crisis
keywords by the same rules (alerts.trend_rules) and the two packages never import each other.

A term has a *key* (what the models group by) and a *surface* (what a person reads):
- words: lower-cased, elongations cut ("siiiii" -> "si", "noooo" -> "no"), accents folded (ñ kept),
  then stemmed with Snowball, so "reembolso"/"reembolsos" and "refund"/"refunds" are one term each;
  the surface is the lower-cased word with its accents;
- phrases: two adjacent kept words (no stopword, punctuation or emoji between them), key and surface
  joined by a space;
- hashtags `#...` and mentions `@...`: lower-cased and folded, never stemmed (they are names).

Members switch languages mid-sentence ("el delivery llegó tarde, quiero un refund"), and language
detection names one language per message, so nothing here depends on it: the stopwords of Spanish and
English (tertulia/stopwords/*.txt) are removed from every message, and a word's key is the shorter
of its Spanish and English Snowball stems (the first in alphabetical order on a tie). "nitro" is then
`nitr` in a Spanish and an English message alike, where stemming in the message's language gave two
keys (`nitr`, `nitro`) and split the term. The price is an occasional merge of unrelated words of the
two languages ("late" and "lata" are both `lat`). URLs, numbers and emoji are left out. Each term
counts once per message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import pyarrow as pa
import snowballstemmer

# Bump when the rules above change: the next enrichment run re-tokenises every scored comment once.
TERMS_VERSION = "1"
STOPWORD_DIR = Path(__file__).resolve().parent / "stopwords"
STOPWORD_LANGUAGES = ("es", "en")
STEM_ALGORITHMS = ("spanish", "english")
KINDS = ("word", "phrase", "hashtag", "mention")
MIN_WORD_CHARS = 2

# URLs and e-mail addresses are no words ("ana@mail.com" is no mention either).
_URL = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.]+", re.IGNORECASE)
# A hashtag or mention starts at a word boundary ("ana@mail.com" is no mention); a word is letters,
# with inner apostrophes ("don't"). Digits alone are no word; emoji match nothing and drop out.
_TOKEN = re.compile(
    r"(?<![\w@#])(?P<tag>[#@])(?P<name>\w+(?:[.]\w+)*)|(?P<word>[^\W\d_]+(?:['’][^\W\d_]+)*)",
    re.UNICODE,
)
_ELONGATED = re.compile(r"(\w)\1{2,}", re.UNICODE)

TERMS_SCHEMA = pa.schema(
    [
        ("platform", pa.string()),
        ("comment_id", pa.string()),
        ("content_hash", pa.string()),
        ("term", pa.string()),
        ("surface", pa.string()),
        ("kind", pa.string()),
        ("language", pa.string()),
    ]
)


@dataclass(frozen=True)
class Term:
    term: str
    surface: str
    kind: str


def fold(text: str) -> str:
    """Lower case without accents, keeping ñ (año is not ano): the form keys are compared in."""
    out = []
    for ch in unicodedata.normalize("NFD", text.lower()):
        if unicodedata.combining(ch):
            if ch == "\u0303" and out and out[-1] == "n":
                out[-1] = "ñ"
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def unelongate(word: str) -> str:
    """A letter written three times or more is one letter: "siiiii" -> "si", "graciaaas" -> "gracias".
    Known limit: a word whose doubled letter is stretched ("goooood") loses the double ("god")."""
    return _ELONGATED.sub(r"\1", word)


@cache
def stopwords() -> frozenset[str]:
    words: set[str] = set()
    for lang in STOPWORD_LANGUAGES:
        for line in (STOPWORD_DIR / f"{lang}.txt").read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                words.add(_plain(line))
    return frozenset(words)


def _plain(word: str) -> str:
    return fold(word).replace("'", "").replace("’", "")


@cache
def _stemmers() -> tuple:
    return tuple(snowballstemmer.stemmer(a) for a in STEM_ALGORITHMS)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Key of a folded word: the shorter of its Spanish and English Snowball stems (see the module doc)."""
    stems = [s for s in (st.stemWord(word) for st in _stemmers()) if len(s) >= MIN_WORD_CHARS]
    return min(stems, key=lambda s: (len(s), s)) if stems else word


def extract_terms(text: str | None, language: str | None) -> list[Term]:
    """The distinct terms of one message, in order of first appearance. `language` is stored with the
    terms (terms_table), not used to find them: see the module doc."""
    if not text:
        return []
    stop = stopwords()
    found: dict[str, Term] = {}
    text = _URL.sub(" ", text)
    previous: tuple[str, str] | None = None  # (key, surface) of the word just before, if adjacent
    last_end = 0
    for m in _TOKEN.finditer(text):
        # Anything but spaces between two words (punctuation, an emoji, a number) ends a phrase.
        if text[last_end : m.start()].strip():
            previous = None
        last_end = m.end()
        if m.group("tag"):
            previous = None
            name = m.group("name")
            key = m.group("tag") + fold(name)
            found.setdefault(
                key, Term(key, m.group("tag") + name, "hashtag" if m.group("tag") == "#" else "mention")
            )
            continue
        surface = unelongate(m.group("word").lower())
        plain = _plain(surface)
        if len(plain) < MIN_WORD_CHARS or plain in stop or plain.isdigit():
            previous = None
            continue
        key = stem(plain)
        found.setdefault(key, Term(key, surface, "word"))
        if previous is not None and previous[0] != key:  # "refunds refunded" is no phrase
            phrase = f"{previous[0]} {key}"
            found.setdefault(phrase, Term(phrase, f"{previous[1]} {surface}", "phrase"))
        previous = (key, surface)
    return list(found.values())


def terms_table(
    platforms: Sequence[str],
    comment_ids: Sequence[str],
    content_hashes: Sequence[str],
    texts: Sequence[str | None],
    languages: Sequence[str | None],
) -> pa.Table:
    """One row per (comment, term), ready for `raw.comment_terms`."""
    cols: dict[str, list[str | None]] = {name: [] for name in TERMS_SCHEMA.names}
    for platform, comment_id, content_hash, text, language in zip(
        platforms, comment_ids, content_hashes, texts, languages, strict=True
    ):
        for t in extract_terms(text, language):
            cols["platform"].append(platform)
            cols["comment_id"].append(comment_id)
            cols["content_hash"].append(content_hash)
            cols["term"].append(t.term)
            cols["surface"].append(t.surface)
            cols["kind"].append(t.kind)
            cols["language"].append(language)
    return pa.table(cols, schema=TERMS_SCHEMA)
