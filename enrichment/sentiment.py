"""Sentiment of short social comments, Spanish and English first.

`SentimentModel` is the interface the pipeline uses; `LexiconSentiment` is the engine shipped with
Tertulia: the method of VADER (Hutto & Gilbert, 2014) re-implemented over the project's own lexicons
so that Spanish is scored as well as English: negation flips and damps a word within three words in
the same clause ("no me gustó", "nada bueno", "not good"), boosters and dampeners shift its
magnitude ("muy", "súper", "really"; "un poco", "kinda"), a contrast word moves the weight to what
follows it ("rico pero carísimo"), stretched and SHOUTED words count more, emoji carry valence, and
"!" adds emphasis. A transformer model can replace it later by implementing the same protocol.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from enrichment.lexicon import Lexicon, de_elongate, fold, load_emoji, load_lexicon

ENGINE_VERSION = "lexicon-1"
# VADER's constants: negation scalar, emphasis of a stretched or capitalised word, '!' emphasis.
NEGATION_SCALAR = -0.74
CAPS_BOOST = 0.733
ELONGATION_BOOST = 0.293
EXCLAMATION_BOOST = 0.292
NEGATION_WINDOW = 3
# Beyond this |score| a comment is labelled positive or negative (chosen on the dev half of the
# evaluation set, see bench/sentiment_eval.py).
LABEL_THRESHOLD = 0.2

_CLAUSE = re.compile(r"[.,;:!?¡¿\n()\"]+")
_WORD = re.compile(r"[a-z0-9]+")
_CAPS_WORD = re.compile(r"\b[A-ZÁÉÍÓÚÑÜ]{3,}\b")
# Handles and links are names, not words: "@caro_v" is not "caro" (expensive).
_NOT_WORDS = re.compile(r"(@\w+|#\w+|https?://\S+|www\.\S+)")
# "10/10", "9/10": a rating out of ten; its valence by the rating.
_RATING = re.compile(r"\b(10|[0-9])\s*/\s*10\b")


class SentimentModel(Protocol):
    """Scores texts from -1 (very negative) to +1 (very positive)."""

    version: str

    def score(self, texts: Sequence[str | None], languages: Sequence[str]) -> list[float]: ...


def label(score: float, threshold: float = LABEL_THRESHOLD) -> str:
    if score >= threshold:
        return "positive"
    if score <= -threshold:
        return "negative"
    return "neutral"


@dataclass(frozen=True)
class Entry:
    """A word or phrase of a text that the lexicon knows."""

    position: int  # index of its first word in the text
    clause: int
    kinds: dict[str, float]
    emphasis: float = 0.0  # added to its magnitude when stretched ("buenooo") or shouted ("TERRIBLE")


def lexicon_for(language: str) -> Lexicon:
    # Comments mix languages ("el café top 🔥", "love it, gracias"): the comment's language first, the
    # other shipped lexicon as a fallback.
    order = {"es": ("es", "en"), "en": ("en", "es")}.get(language, ("es", "en"))
    return load_lexicon(order)


def tokenize(text: str) -> list[tuple[str, int]]:
    """(word, clause number) pairs of folded text; punctuation closes a clause."""
    out = []
    for cid, clause in enumerate(_CLAUSE.split(fold(_NOT_WORDS.sub(" ", text)))):
        out.extend((w, cid) for w in _WORD.findall(clause))
    return out


def find_entries(text: str, lex: Lexicon) -> list[Entry]:
    tokens = tokenize(text)
    words = [w for w, _ in tokens]
    shouted = set()
    if not text.isupper():
        shouted = {fold(w) for w in _CAPS_WORD.findall(text)}
    entries = []
    i = 0
    while i < len(words):
        n, kinds = lex.match_phrase(words, i)
        if n:
            entries.append(Entry(i, tokens[i][1], kinds))
            i += n
            continue
        word = words[i]
        variants = de_elongate(word)
        stretched = bool(variants)
        kinds = lex.lookup(word)
        for variant in variants:
            if kinds:
                break
            kinds = lex.lookup(variant)
        if kinds:
            emphasis = CAPS_BOOST if word in shouted else ELONGATION_BOOST if stretched else 0.0
            entries.append(Entry(i, tokens[i][1], kinds, emphasis))
        i += 1
    return entries


def _valence(entry: Entry) -> float | None:
    if "neutral" in entry.kinds:
        return None
    v = entry.kinds.get("valence", entry.kinds.get("insult"))
    return v if v else None


def score_entries(entries: list[Entry]) -> float:
    """Sum of word valences after modifiers (unnormalised)."""
    contrast_at = max((e.position for e in entries if "contrast" in e.kinds), default=None)
    total = 0.0
    for k, e in enumerate(entries):
        v = _valence(e)
        if v is None:
            continue
        sign = 1.0 if v > 0 else -1.0
        v += sign * e.emphasis
        negated = False
        for back, prev in enumerate(reversed(entries[:k]), start=1):
            if prev.clause != e.clause or e.position - prev.position > NEGATION_WINDOW:
                break
            decay = (1.0, 0.95, 0.9)[min(back, 3) - 1]
            if "booster" in prev.kinds:
                v += sign * prev.kinds["booster"] * decay
            elif "dampener" in prev.kinds:
                v += sign * prev.kinds["dampener"] * decay
            if "negator" in prev.kinds:
                negated = True
        if negated:
            v *= NEGATION_SCALAR
        if contrast_at is not None:
            v *= 0.5 if e.position < contrast_at else 1.5
        total += v
    return total


def emoji_valence(text: str, table: dict[str, float]) -> float:
    total = 0.0
    counts: dict[str, int] = {}
    for ch in text.replace("\ufe0f", ""):
        v = table.get(ch)
        if v is not None and counts.get(ch, 0) < 3:  # a row of ten 😡 is one anger, emphasised
            counts[ch] = counts.get(ch, 0) + 1
            total += v if counts[ch] == 1 else v * 0.3
    return total


def normalize(total: float, alpha: float = 15.0) -> float:
    return total / math.sqrt(total * total + alpha)


class LexiconSentiment:
    """The shipped engine: project lexicons, no model download, a few tens of thousands of texts/s."""

    version = ENGINE_VERSION

    def __init__(self) -> None:
        self._emoji = load_emoji()

    def analyse(self, text: str | None, language: str) -> tuple[float, list[Entry]]:
        """Score and the lexicon entries found (intent rules reuse them)."""
        if not text:
            return 0.0, []
        entries = find_entries(text, lexicon_for(language))
        total = score_entries(entries) + emoji_valence(text, self._emoji)
        for m in _RATING.finditer(text):
            total += (int(m.group(1)) - 5.5) * 0.6
        if total:
            bangs = min(text.count("!"), 4)
            total += (1.0 if total > 0 else -1.0) * bangs * EXCLAMATION_BOOST
        return round(normalize(total), 4), entries

    def score_one(self, text: str | None, language: str) -> float:
        return self.analyse(text, language)[0]

    def score(self, texts: Sequence[str | None], languages: Sequence[str]) -> list[float]:
        return [self.score_one(t, lang) for t, lang in zip(texts, languages, strict=True)]
