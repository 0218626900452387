"""Sentiment of short social comments, Spanish and English first.

`SentimentModel` is the interface the pipeline uses; `LexiconSentiment` is the engine shipped with
Tertulia: the method of VADER (Hutto & Gilbert, 2014) re-implemented over the project's own lexicons
so that Spanish is scored as well as English: negation flips and damps a word within three words in
the same clause and before any "y"/"and" ("no me gustó", "nada bueno", "not good"), boosters and
dampeners shift its magnitude ("muy", "súper", "really"; "un poco", "kinda"), a contrast word moves
the weight to what
follows it ("rico pero carísimo"), stretched and SHOUTED words count more, emoji carry valence, and
"!" adds emphasis. A transformer model can replace it later by implementing the same protocol.

On top of the word scores, four rules for the comments a crisis and an SLA depend on most
(issue 22; measured by bench/sentiment_eval.py's hard set):
- **complaints without a sentiment word** ("me cobraron dos veces", "left on read", "never arrived"):
  the `grievance` patterns of enrichment/lexicons/patterns.tsv carry a negative valence, and a
  comment with one is negative (at most -`GRIEVANCE_FLOOR` before normalising) unless the problem
  was solved ("ya me devolvieron el dinero") or a contrast after it turns the comment around
  ("esperé 20 minutos, pero valió la pena"). The same entries make the comment a complaint in
  enrichment.intent, so a complaint is never positive.
- **sarcasm**: praise with a grievance, an irony pattern ("thanks for nothing", "gracias por nada"),
  an irony emoji (🙃 🙄 😒), scare quotes (my "express" order), or, with no contrast word, a
  negative remark or a `letdown` ("otra vez", "third time", "ya no", "nobody") after a short praising
  opener ("Genial, el café llegó frío otra vez"), a negative remark before a short praising closer
  that is not a sign-off ("me cerraron la puerta en la cara, muy amables"; not "..., gracias"), or
  one in an ironic frame ("love paying 7 dollars for lukewarm coffee"), or thanks for something bad
  ("thanks for the stale muffin", lexicon-4; not thanks for news of a problem) is not praise: its
  positive words and emoji count `SARCASM_SCALAR` times their valence (negative). A closing "/s"
  and 🤡 mark irony too.
  Since lexicon-5 a positive frame and a failed event are sarcasm without a negative word: praise
  opening the comment, then a `mishap` (an event of a failure class: "se cierra", "froze", "instead
  of", a long duration, a repeat count) and no praise after it ("Excelente app del banco, se cierra
  cada vez que quiero transferir").
  Since lexicon-6 thanks for news of a problem ("gracias por avisar del retraso") keeps its praise (the
  `notice` kind drops the negative words of the news), a failure told in a clause after the last fix
  undoes it, and a quote after a verb of saying ("the tracking says "out for delivery"") is no scare
  quote.
- **questions** keep their loaded words at `QUESTION_SCALAR` of their valence ("¿el café de Loja es
  amargo?", "are prices going up?"), unless the question complains (a grievance or irony, or an
  `undamp` pattern such as "¿es normal que...?").
- **emoji-only comments** are scored by the emoji table like any other emoji.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import cache
from typing import NamedTuple, Protocol

from enrichment.lexicon import (
    PATTERN_KINDS,
    Lexicon,
    Patterns,
    fold,
    load_emoji,
    load_lexicon,
    load_patterns,
)

ENGINE_VERSION = "lexicon-6"
# VADER's constants: negation scalar, emphasis of a stretched or capitalised word, '!' emphasis.
NEGATION_SCALAR = -0.74
CAPS_BOOST = 0.733
ELONGATION_BOOST = 0.293
EXCLAMATION_BOOST = 0.292
NEGATION_WINDOW = 3
# A modifier's weight by how many entries back it is (1: the one right before): VADER's decay.
_DECAY = (1.0, 1.0, 0.95)
# Beyond this |score| a comment is labelled positive or negative (chosen on the dev half of the
# evaluation set, see bench/sentiment_eval.py).
LABEL_THRESHOLD = 0.2
# The rules of issue 22, chosen on the dev half of bench/data/sentiment_hard.tsv.
QUESTION_SCALAR = 0.2
SARCASM_SCALAR = -0.5
# A comment with an unresolved grievance scores at most -GRIEVANCE_FLOOR before normalising
# (normalize(-1.5) = -0.36, clearly past the label threshold).
GRIEVANCE_FLOOR = 1.5
SCARE_QUOTE_VALENCE = -1.5
# "Oh great, <negative remark>": an opening clause of at most OPENER_WORDS words, all praise, then
# words summing to at most -OPENER_MIN_NEGATIVE (or a letdown and no praise) and no contrast word;
# the same remark before a closing clause of praise ("<negative remark>, muy amables").
OPENER_WORDS = 4
OPENER_MIN_NEGATIVE = 0.8
# Words of a closing clause that signs a message off rather than praising ("..., gracias").
SIGN_OFFS = frozenset(
    {"gracias", "thanks", "thank", "thx", "ty", "ta", "cheers", "saludos", "regards", "please"}
)
# Emoji that say "I don't mean it": with praise they make it sarcasm (their own valence is in emoji.tsv).
# 🤡: "you are a joke", said of a service.
IRONY_EMOJI = frozenset("🙃🙄😒🤡")
# "/s" closing a comment: the writer's own sarcasm tag (Reddit and forums).
_SARCASM_TAG = re.compile(r"(?:^|\s)/s\W*$")
# A quoted stretch of at most three words is a scare quote ("express", “fresh”); longer ones are
# usually reported speech ("she said 'best cookie ever'").
_SCARE_QUOTE = re.compile(r'["“«]\s*([^"“”«»\n]{1,40}?)\s*["”»]')
# A quote right after a verb of saying or showing reports what a screen or a person says (the tracking
# says "out for delivery", el pedido dice "en camino"): it is not a scare quote (lexicon-6).
SAYING = frozenset(
    {
        "says",
        "said",
        "reads",
        "shows",
        "showing",
        "status",
        "dice",
        "decia",
        "pone",
        "ponia",
        "marca",
        "figura",
        "aparece",
        "estado",
    }
)

_CLAUSE = re.compile(r"([.,;:!?¡¿\n()\"]+)")
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


class Entry(NamedTuple):
    """A word or phrase of a text that the lexicon knows, or a pattern it matches (clause -1).

    A named tuple: a comment makes several, and a tuple is several times cheaper to build than a
    frozen dataclass."""

    position: int  # index of its first word in the text
    clause: int
    kinds: dict[str, float]
    emphasis: float = 0.0  # added to its magnitude when stretched ("buenooo") or shouted ("TERRIBLE")
    scope: int = 0  # conjunctions ("y", "and") before it: a negation does not reach past one


# "No tardaron nada y estaba buenísimo", "didn't wait long and it was lovely": the conjunction starts
# a new predicate, which the negation before it does not reach.
CONJUNCTIONS = frozenset({"y", "e", "and"})


def lexicon_for(language: str) -> Lexicon:
    # Comments mix languages ("el café top 🔥", "love it, gracias"): the comment's language first, the
    # other shipped lexicon as a fallback.
    order = {"es": ("es", "en"), "en": ("en", "es")}.get(language, ("es", "en"))
    return load_lexicon(order)


def tokenize(text: str) -> list[tuple[str, int]]:
    """(word, clause number) pairs of folded text; punctuation closes a clause."""
    return clauses(text)[0]


def clauses(text: str) -> tuple[list[tuple[str, int]], frozenset[int]]:
    """(word, clause) pairs, and the clauses that ask a question.

    A sentence ends at . ! ? or a line break. In a sentence that holds "¿", the clauses from the
    "¿" on ask; in one that ends with "?" without "¿", its last clause does: "Nos sentimos mal,
    ¿quién responde?" and "We got sick, who is responsible?" ask nothing about feeling sick.
    """
    if "@" in text or "#" in text or "http" in text or "www." in text:
        text = _NOT_WORDS.sub(" ", text)
    parts = _CLAUSE.split(fold(text))
    if "?" not in text and "¿" not in text:  # most comments: no question to track
        # parts alternate clause text and the punctuation after it: the clauses are parts[::2]
        return [(w, cid) for cid, part in enumerate(parts[::2]) for w in _WORD.findall(part)], frozenset()
    out: list[tuple[str, int]] = []
    questions: set[int] = set()
    asking: list[int] = []  # clauses since the last "¿" of the sentence, or since its last comma
    asked = False  # the sentence holds a "¿"
    # parts alternate clause text and the punctuation after it: [clause, punct, clause, punct, ...]
    for cid, k in enumerate(range(0, len(parts), 2)):
        out += [(w, cid) for w in _WORD.findall(parts[k])]
        asking.append(cid)
        punct = parts[k + 1] if k + 1 < len(parts) else "."
        end = max(punct.rfind("."), punct.rfind("!"), punct.rfind("?"), punct.rfind("\n")) + 1
        if not end:
            if "¿" in punct:
                asking, asked = [], True
            elif not asked:
                asking = []
            continue
        if asked or "?" in punct[:end]:
            questions.update(asking)
        asked = "¿" in punct[end:]
        asking = []
    return out, frozenset(questions)


def find_entries(text: str, lex: Lexicon, tokens: list[tuple[str, int]] | None = None) -> list[Entry]:
    if tokens is None:
        tokens = tokenize(text)
    words = [w for w, _ in tokens]
    shouted = set()
    # Most comments have no capital after their first letter: no SHOUTED word to look for.
    if not text.isupper() and not text[1:].islower():
        shouted = {fold(w) for w in _CAPS_WORD.findall(text)}
    entries = []
    scope = 0
    i = 0
    # Most words start no phrase: a set test here saves a call per word (lexicon-5 paid for its
    # rules this way; the same entries).
    starts = lex.phrase_starts
    resolve = lex.resolve
    while i < len(words):
        word = words[i]
        if word in starts:
            n, kinds = lex.match_phrase(words, i)
            if n:
                entries.append(Entry(i, tokens[i][1], kinds, 0.0, scope))
                i += n
                continue
        if word in CONJUNCTIONS:
            scope += 1
        kinds, stretched = resolve(word)
        if kinds:
            emphasis = CAPS_BOOST if word in shouted else ELONGATION_BOOST if stretched else 0.0
            entries.append(Entry(i, tokens[i][1], kinds, emphasis, scope))
        i += 1
    return entries


def _valence(entry: Entry) -> float | None:
    if "neutral" in entry.kinds:
        return None
    v = entry.kinds.get("valence", entry.kinds.get("insult"))
    return v if v else None


def score_entries(entries: list[Entry]) -> float:
    """Sum of word valences after modifiers (unnormalised)."""
    positive, negative = score_parts(entries)
    return positive + negative


def score_parts(entries: list[Entry], questions: frozenset[int] = frozenset()) -> tuple[float, float]:
    """Sums of the positive and of the negative word valences after modifiers (unnormalised).

    Words in `questions` (clause numbers) count QUESTION_SCALAR of their valence, except a positive
    word right after a booster ("¿cómo hacen para que esté tan rico?" praises).
    """
    contrast_at = max((e.position for e in entries if "contrast" in e.kinds), default=None)
    positive = negative = 0.0
    for k, e in enumerate(entries):
        v = _valence(e)
        if v is None:
            continue
        sign = 1.0 if v > 0 else -1.0
        v += sign * e.emphasis
        negated = boosted = False
        # The entries before it, nearest first (indices, not a reversed copy: this runs per word).
        for back in range(1, k + 1):
            prev = entries[k - back]
            if prev.clause != e.clause or e.position - prev.position > NEGATION_WINDOW:
                break
            decay = _DECAY[back] if back < 3 else 0.9
            if "booster" in prev.kinds:
                v += sign * prev.kinds["booster"] * decay
                boosted = boosted or e.position - prev.position == 1
            elif "dampener" in prev.kinds:
                v += sign * prev.kinds["dampener"] * decay
            if "negator" in prev.kinds and prev.scope == e.scope:
                negated = True
        if negated:
            v *= NEGATION_SCALAR
        if contrast_at is not None:
            v *= 0.5 if e.position < contrast_at else 1.5
        if e.clause in questions and not (boosted and v > 0):
            v *= QUESTION_SCALAR
        if v > 0:
            positive += v
        else:
            negative += v
    return positive, negative


def emoji_valence(text: str, table: dict[str, float]) -> float:
    positive, negative = emoji_parts(text, table)
    return positive + negative


def emoji_parts(text: str, table: dict[str, float]) -> tuple[float, float]:
    """Sums of the positive and of the negative emoji valences."""
    positive = negative = 0.0
    counts: dict[str, int] = {}
    for ch in text.replace("\ufe0f", ""):
        v = table.get(ch)
        if v is not None and counts.get(ch, 0) < 3:  # a row of ten 😡 is one anger, emphasised
            counts[ch] = counts.get(ch, 0) + 1
            v = v if counts[ch] == 1 else v * 0.3
            if v > 0:
                positive += v
            else:
                negative += v
    return positive, negative


# Pattern kinds that only say whether a comment's praise is meant (lexicon-4 added many): a comment
# without praise, most of them, is not matched with them. The other kinds (grievance, resolution,
# irony, ...) count in every comment.
PRAISE_KINDS = frozenset({"letdown", "sarcasm", "thanks", "mishap", "notice"})
# lexicon-5: sarcasm as a positive frame and a failed event. Praise opening the comment (its first
# positive word among its first FRAME_WORDS words) followed by a `mishap` (an event of a failure
# class: left, froze, expired, charged, a long duration, a repeat count, "instead of") with no
# positive word after it is praise not meant: "Excelente app del banco, se cierra cada vez que...",
# "Lovely, the engineer turned up, shrugged and left". Praise after the mishap keeps it sincere
# ("Fourth order and still perfect").
FRAME_WORDS = 4
# A sarcastic comment whose only bad news is a mishap would be as weak as its praise ("Bien hecho,
# mandaron pollo cuando pedí pastor": 1.2 * SARCASM_SCALAR alone stays neutral): the mishap adds this.
MISHAP_VALENCE = -1.2


@cache
def _without_praise_kinds() -> Patterns:
    return load_patterns().only(frozenset(PATTERN_KINDS) - PRAISE_KINDS)


@cache
def _without_mishaps() -> Patterns:
    return load_patterns().only(frozenset(PATTERN_KINDS) - {"mishap"})


def find_cues(words: list[str], praise: bool = True, frame: bool = True) -> list[Entry]:
    """Matches of enrichment/lexicons/patterns.tsv in the words, as entries (clause -1: all of them);
    without `praise`, of the kinds other than PRAISE_KINDS only; without a praising `frame` (praise
    among the first FRAME_WORDS words, which a mishap needs), of the kinds other than mishap.

    A resolution with a negation in the three words before it ("nadie me da solución", "still not
    fixed") is a grievance.
    """
    if not words:
        return []
    patterns = (load_patterns() if frame else _without_mishaps()) if praise else _without_praise_kinds()
    found = patterns.find(words)
    if not found:
        return []
    negators = _negators()
    out = []
    for kind, value, position in found:
        if kind == "resolution" and negators.intersection(words[max(0, position - 3) : position]):
            kind, value = "grievance", -value
        # Both make a complaint for enrichment.intent, which reads the lexicon kind "complaint".
        kinds = (
            {kind: value, "complaint": 0.0} if kind in ("grievance", "strong_complaint") else {kind: value}
        )
        out.append(Entry(position, -1, kinds))
    return out


def _praising_opener(
    tokens: list[tuple[str, int]], entries: list[Entry], questions: frozenset[int], letdown_at: int
) -> bool:
    """A short first clause of praise and a clearly negative rest ("Oh great, the milk is sour"), or a
    letdown after it ("Estupendo, tercera vez que..."); or a negative remark closed by a short clause
    of praise ("Me cerraron la puerta en la cara, muy amables")."""
    first, last = tokens[0][1], tokens[-1][1]
    opener_words = sum(1 for _, c in tokens if c == first)
    if opener_words <= OPENER_WORDS and _all_praise(entries, first):
        positive, negative = score_parts([e for e in entries if e.clause != first], questions)
        # A letdown says something went wrong unless the rest praises too ("Genial, no tardaron nada
        # y estaba buenísimo").
        if negative <= -OPENER_MIN_NEGATIVE or (letdown_at >= opener_words and positive == 0):
            return True
    if (
        last == first
        or sum(1 for _, c in tokens if c == last) > OPENER_WORDS
        or not _all_praise(entries, last)
    ):
        return False
    if any(w in SIGN_OFFS for w, c in tokens if c == last):
        return False  # "¿...cuánto demoran? Gracias." signs off; it does not mock
    positive, negative = score_parts([e for e in entries if e.clause != last], questions)
    return positive == 0 and negative <= -OPENER_MIN_NEGATIVE


def _praise_then_mishap(entries: list[Entry], mishap_at: int) -> bool:
    """Does praise open the comment (a positive word among its first FRAME_WORDS words, before the
    mishap) with no positive word after the mishap?"""
    positions = [e.position for e in entries if (v := _valence(e)) is not None and v > 0]
    return bool(positions) and positions[0] < min(mishap_at, FRAME_WORDS) and positions[-1] < mishap_at


def _thanks_for_bad(tokens: list[tuple[str, int]], entries: list[Entry], thanks_at: list[int]) -> bool:
    """Does a "thanks for" thank for something bad: the rest of its clause holds a negative word and
    no positive one ("Wow, thanks for the cold fries", "gracias por el café frío y la mala cara")?"""
    for at in thanks_at:
        clause = tokens[at][1]
        found = [
            v
            for e in entries
            if e.clause == clause and e.position > at + 1 and (v := _valence(e)) is not None
        ]
        if found and max(found) < 0:
            return True
    return False


def _all_praise(entries: list[Entry], clause: int) -> bool:
    """Does the clause hold sentiment words, all of them positive?"""
    found = [v for e in entries if e.clause == clause and (v := _valence(e)) is not None]
    return bool(found) and min(found) > 0


@cache
def _negators() -> frozenset[str]:
    lex = load_lexicon(("es", "en"))
    return frozenset(w for w, kinds in lex.words.items() if "negator" in kinds)


def scare_quoted(text: str) -> bool:
    """Does the text put at most three words between quotes (my "express" order)?"""
    if '"' not in text and "“" not in text and "«" not in text:
        return False
    for m in _SCARE_QUOTE.finditer(text):
        before = _WORD.findall(fold(text[: m.start()])[-30:])
        if len(m.group(1).split()) <= 3 and not (before and before[-1] in SAYING):
            return True
    return False


def normalize(total: float, alpha: float = 15.0) -> float:
    return total / math.sqrt(total * total + alpha)


class LexiconSentiment:
    """The shipped engine: project lexicons, no model download, a few tens of thousands of texts/s."""

    version = ENGINE_VERSION

    def __init__(self) -> None:
        self._emoji = load_emoji()
        # The lowest code point of the emoji table: a text whose highest character is below it
        # (ASCII, or Spanish with its accents) holds no emoji to look up, one character at a time.
        self._emoji_floor = min((*self._emoji, *IRONY_EMOJI))

    def analyse(self, text: str | None, language: str) -> tuple[float, list[Entry]]:
        """Score, and the lexicon entries and pattern cues found (intent rules reuse them)."""
        if not text:
            return 0.0, []
        tokens, questions = clauses(text)
        entries = find_entries(text, lexicon_for(language), tokens)
        positive, negative = score_parts(entries, questions)
        # Only praise can be sarcasm: a comment without any (most of them) is matched with the
        # patterns of the other kinds alone. Damping a question keeps a positive word positive, so
        # whether there is praise does not wait for the question rule below.
        # A mishap only matters after praise opening the comment (_praise_then_mishap): the mishap
        # lines, a costly part of the patterns, are matched only then.
        frame = positive > 0 and any(e.position < FRAME_WORDS and (_valence(e) or 0) > 0 for e in entries)
        cues = find_cues([w for w, _ in tokens], praise=positive > 0, frame=frame)
        grievance = []
        resolution = irony = 0.0
        undamp = frame = False
        letdown_at = -1  # word position of the last letdown ("otra vez", "third time"), if any
        mishap_at = -1  # word position of the first mishap ("se cierra", "froze"), if any
        thanks_at: list[int] = []  # word positions of "thanks for", "gracias por"
        notice_at = -1  # word position of thanks for news of a problem ("gracias por avisar"), if any
        resolution_at = -1  # word position of the last resolution, if any
        for c in cues:  # usually none
            if "grievance" in c.kinds:
                grievance.append(c)
            elif "letdown" in c.kinds:
                letdown_at = c.position
            elif "mishap" in c.kinds and mishap_at < 0:
                mishap_at = c.position
            resolution += c.kinds.get("resolution", 0.0)
            irony += c.kinds.get("irony", 0.0)
            undamp = undamp or "undamp" in c.kinds
            frame = frame or "sarcasm" in c.kinds
            if "thanks" in c.kinds:
                thanks_at.append(c.position)
            if "notice" in c.kinds and notice_at < 0:
                notice_at = c.position
            if "resolution" in c.kinds:
                resolution_at = c.position
        # A failure told in a clause after the last fix undoes it ("recién arreglado, ya se cayó la
        # banca"); one in the fix's own clause is what was fixed ("me devolvieron lo que me cobraron dos
        # veces").
        resolved = resolution > 0 and not any(
            g.position > resolution_at and tokens[g.position][1] > tokens[resolution_at][1] for g in grievance
        )
        if notice_at >= 0 and not irony and not grievance:
            # Thanks for news of a problem: the problem it announces, the rest of its clause, is news,
            # not the writer's complaint ("gracias por avisar del retraso, así me organicé").
            clause = tokens[notice_at][1]
            entries = [
                e
                for e in entries
                if not (e.clause == clause and e.position > notice_at and (_valence(e) or 0) < 0)
            ]
            positive, negative = score_parts(entries, questions)
        scare = scare_quoted(text)
        if questions and (irony or grievance or undamp):
            questions = frozenset()  # a question that complains keeps its words
            positive, negative = score_parts(entries, questions)
        no_emoji = text.isascii() or max(text) < self._emoji_floor
        e_positive, e_negative = (0.0, 0.0) if no_emoji else emoji_parts(text, self._emoji)
        contrast_at = max((e.position for e in entries if "contrast" in e.kinds), default=-1)
        # "Esperé 20 minutos, pero valió la pena": a contrast after the last grievance turns it around.
        excused = resolved or (bool(grievance) and contrast_at > max(c.position for c in grievance))
        tagged = "/s" in text and _SARCASM_TAG.search(text) is not None
        ironic = bool(irony) or scare or tagged or (not no_emoji and not IRONY_EMOJI.isdisjoint(text))
        if not ironic and contrast_at < 0 and positive > 0 and (negative < 0 or letdown_at >= 0):
            # "Love paying 7 dollars for lukewarm coffee", "Oh great, the milk is sour", "Estupendo,
            # tercera vez que...": a letdown counts as the negative remark.
            ironic = (
                (frame and negative < 0)
                or (bool(thanks_at) and _thanks_for_bad(tokens, entries, thanks_at))
                or _praising_opener(tokens, entries, questions, letdown_at)
            )
        if not ironic and contrast_at < 0 and positive > 0 and mishap_at >= 0:
            ironic = _praise_then_mishap(entries, mishap_at)
        # A failed event that is the sarcastic comment's only bad news ("Cheers, another outage
        # during the match") counts as one.
        mishap = ironic and mishap_at >= 0 and negative == 0
        if not resolved and (ironic or (grievance and not excused)):
            positive *= SARCASM_SCALAR
            e_positive *= SARCASM_SCALAR
        total = positive + negative + e_positive + e_negative + irony + resolution
        if mishap and not resolved:
            total += MISHAP_VALENCE
        # Scare quotes and a "/s" tag say the words are not meant even when no word is praise.
        total += SCARE_QUOTE_VALENCE * (scare + tagged)
        if grievance and not resolved:
            total += sum(c.kinds["grievance"] for c in grievance) * (0.5 if excused else 1.0)
        if "/" in text:  # most comments hold no rating: skip the regex
            for m in _RATING.finditer(text):
                total += (int(m.group(1)) - 5.5) * 0.6
        if total:
            bangs = min(text.count("!"), 4)
            total += (1.0 if total > 0 else -1.0) * bangs * EXCLAMATION_BOOST
        if grievance and not excused:
            total = min(total, -GRIEVANCE_FLOOR)
        return round(normalize(total), 4), entries + cues

    def score_one(self, text: str | None, language: str) -> float:
        return self.analyse(text, language)[0]

    def score(self, texts: Sequence[str | None], languages: Sequence[str]) -> list[float]:
        return [self.score_one(t, lang) for t, lang in zip(texts, languages, strict=True)]
