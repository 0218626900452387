"""Intent, priority and crisis keywords of a comment, from its words and its sentiment.

Rules, in order: spam/abuse (a link with money bait, a long run of one character, an insult), then
complaint (complaint vocabulary or a grievance pattern with a negative score, or a refund word with a
score that is not positive; enrichment/lexicons/patterns.tsv holds the patterns, and the sentiment
engine makes a comment with an unresolved grievance negative, so a complaint is never positive), question (a question mark, or a question word opening the text), praise (clearly
positive), else other. Priority feeds the SLA policies: a complaint or a negative direct message is
high, spam and praise are low, the rest normal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from enrichment.lexicon import words
from enrichment.sentiment import LABEL_THRESHOLD, Entry

_LINK = re.compile(r"(https?://|www\.|\b[a-z0-9-]+\.(com|net|ly|io|co|me|xyz|link)\b|bit\.ly)", re.IGNORECASE)
_CHAR_RUN = re.compile(r"(\S)\1{9,}")
PRAISE_MIN_SCORE = 0.5
NEGATIVE_MAX_SCORE = -0.2


def classify_intent(text: str | None, entries: Sequence[Entry], score: float) -> str:
    if not text:
        return "other"
    kinds = [e.kinds for e in entries]
    if any("insult" in k for k in kinds) or _CHAR_RUN.search(text):
        return "spam"
    if any("bait" in k for k in kinds) and _LINK.search(text):  # the regex only when bait is there
        return "spam"
    complaint = any("complaint" in k for k in kinds)
    # A refund word makes a complaint even when the score is not negative ("¿y mi reembolso?"),
    # but not when it is positive ("thanks for the quick refund!" is praise).
    strong = any("strong_complaint" in k for k in kinds)
    if (complaint and score <= NEGATIVE_MAX_SCORE) or (strong and score < LABEL_THRESHOLD):
        return "complaint"
    # "¿Qué...?" asks; "¡Qué rico!" exclaims: an opening question word counts only in a calm text.
    opens_with_question_word = (
        bool(entries)
        and entries[0].position == 0
        and "question" in entries[0].kinds
        and "!" not in text
        and abs(score) < PRAISE_MIN_SCORE
    )
    if "?" in text or "¿" in text or opens_with_question_word:
        return "question"
    if score >= PRAISE_MIN_SCORE:
        return "praise"
    return "other"


def priority_of(intent: str, channel: str | None, score: float) -> str:
    if intent == "complaint" or (channel == "dm" and score <= NEGATIVE_MAX_SCORE):
        return "high"
    if intent in ("spam", "praise"):
        return "low"
    return "normal"


class KeywordMatcher:
    """Finds the configured crisis keywords (every language's list) in a text, accent-insensitively.

    A keyword matches a word starting with it ("estafa" in "estafadores", "refund" in "refunds");
    a keyword of several words matches those words in a row.
    """

    def __init__(self, keywords: Mapping[str, Sequence[str]]) -> None:
        self._shown: dict[str, str] = {}  # folded form -> the form configured (what alerts show)
        for kws in keywords.values():
            for kw in kws:
                norm = " ".join(words(kw))
                if norm:
                    self._shown.setdefault(norm, kw.strip().lower())
        # One alternation, longest first, so "intoxicado" is not reported as "intoxica".
        alternatives = "|".join(re.escape(k) for k in sorted(self._shown, key=len, reverse=True))
        self._pattern = re.compile(rf"\b({alternatives})[a-z]{{0,5}}\b") if alternatives else None

    def find(self, text: str | None) -> list[str]:
        if not text or self._pattern is None:
            return []
        folded = " ".join(words(text))
        return sorted({self._shown[m.group(1)] for m in self._pattern.finditer(folded)})
