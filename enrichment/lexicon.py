"""The project's word lists (enrichment/lexicons/*.tsv) and the text normalisation they are matched with.

One TSV per language, `term<TAB>kind<TAB>value`. A term ending in `*` matches any word starting with
it; several words make a phrase, which wins over the single words it covers. Terms and text are both
folded to lower case without accents, so "Buenísimo", "buenisimo" and "BUENISIMO" are one word.

`patterns.tsv` holds phrase patterns of both languages (regular expressions over the folded words),
for what a word list cannot say: complaints told without a sentiment word ("me cobraron dos veces",
"left on read"), solved problems, irony ("thanks for nothing"); see its header for the kinds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

LEXICON_DIR = Path(__file__).resolve().parent / "lexicons"
KINDS = (
    "valence",
    "negator",
    "booster",
    "dampener",
    "contrast",
    "complaint",
    "insult",
    "question",
    "neutral",
    "bait",
)
# Longest phrase, in words, that the lexicons may hold.
MAX_PHRASE = 4

_WORD = re.compile(r"[a-z0-9]+")
_RUN3 = re.compile(r"([a-z])\1{2,}")
_RUN2 = re.compile(r"([a-z])\1+")


class LexiconError(ValueError):
    """A lexicon file has a malformed line; the message names the file and line."""


class _FoldTable(dict):
    """str.translate table: each character's NFKD decomposition without its combining marks,
    computed the first time the character is met (a comment has few distinct characters)."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFKD", chr(code))
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        if len(self) < 50_000:
            self[code] = folded
        return folded


_FOLD = _FoldTable({ord("'"): None, ord("’"): None})


def fold(text: str) -> str:
    """Lower case, accents removed (ñ becomes n, on both sides of the match), apostrophes dropped."""
    text = text.lower()
    if text.isascii():
        return text.replace("'", "")
    return text.translate(_FOLD)


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def de_elongate(word: str) -> list[str]:
    """Spellings to try for a stretched word: 'buenisimooo' -> ['buenisimoo', 'buenisimo']."""
    if not _RUN3.search(word):
        return []
    two = _RUN3.sub(r"\1\1", word)
    one = _RUN2.sub(r"\1", word)
    return [w for w in dict.fromkeys([two, one]) if w != word]


@dataclass
class Lexicon:
    """Terms of one or more languages, by kind. First language loaded wins on a conflict."""

    words: dict[str, dict[str, float]] = field(default_factory=dict)  # term -> {kind: value}
    prefixes: dict[str, dict[str, float]] = field(default_factory=dict)
    phrases: dict[tuple[str, ...], dict[str, float]] = field(default_factory=dict)
    # First word of the phrases -> their lengths in words, longest first: most words start none and
    # need no phrase look-up, and a word that starts only two-word phrases ("is fire", "was sound")
    # costs one look-up, not one per possible length.
    phrase_starts: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # Social text repeats the same few thousand words: remember each word's lookup.
    _memo: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)
    _resolved: dict[str, tuple[dict[str, float], bool]] = field(default_factory=dict, repr=False)

    def add(self, term: str, kind: str, value: float) -> None:
        parts = tuple(words(term.rstrip("*")))
        if not parts:
            return
        if len(parts) > 1:
            self.phrases.setdefault(parts, {}).setdefault(kind, value)
            lengths = {*self.phrase_starts.get(parts[0], ()), len(parts)}
            self.phrase_starts[parts[0]] = tuple(sorted(lengths, reverse=True))
        elif term.endswith("*"):
            self.prefixes.setdefault(parts[0], {}).setdefault(kind, value)
        else:
            self.words.setdefault(parts[0], {}).setdefault(kind, value)
        self._memo.clear()
        self._resolved.clear()

    def lookup(self, word: str) -> dict[str, float]:
        """Kinds of a single word: exact entry, else the longest matching prefix, else {}."""
        found = self._memo.get(word)
        if found is None:
            found = self.words.get(word)
            if found is None:
                found = next(
                    (self.prefixes[word[:k]] for k in range(len(word), 0, -1) if word[:k] in self.prefixes),
                    {},
                )
            if len(self._memo) < 200_000:
                self._memo[word] = found
        return found

    def resolve(self, word: str) -> tuple[dict[str, float], bool]:
        """Kinds of a word as written or, stretched ("buenooo"), of its shorter spellings; and
        whether it was stretched. Remembered per word, like `lookup`."""
        found = self._resolved.get(word)
        if found is None:
            variants = de_elongate(word)
            kinds = self.lookup(word)
            for variant in variants:
                if kinds:
                    break
                kinds = self.lookup(variant)
            found = (kinds, bool(variants))
            if len(self._resolved) < 200_000:
                self._resolved[word] = found
        return found

    def match_phrase(self, tokens: list[str], i: int) -> tuple[int, dict[str, float]]:
        """Longest phrase starting at tokens[i]: (number of words, kinds), or (0, {})."""
        lengths = self.phrase_starts.get(tokens[i])
        if lengths is None:
            return 0, {}
        left = len(tokens) - i
        for n in lengths:
            if n <= left:
                kinds = self.phrases.get(tuple(tokens[i : i + n]))
                if kinds is not None:
                    return n, kinds
        return 0, {}


def _tsv_rows(path: Path, shape: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each line of a lexicon file that is not blank or a # comment; a line
    without as many tab-separated fields as `shape` ("term<TAB>kind<TAB>value") names stops."""
    width = shape.count("<TAB>") + 1
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != width:
            raise LexiconError(f"{path}:{lineno}: expected '{shape}', got {line!r}")
        yield lineno, parts


def _read_tsv(path: Path) -> list[tuple[str, str, float]]:
    rows = []
    for lineno, (term, kind, value) in _tsv_rows(path, "term<TAB>kind<TAB>value"):
        if kind not in KINDS:
            raise LexiconError(f"{path}:{lineno}: unknown kind {kind!r}; use one of {', '.join(KINDS)}")
        try:
            rows.append((term.strip(), kind, float(value)))
        except ValueError:
            raise LexiconError(f"{path}:{lineno}: value {value!r} is not a number") from None
    return rows


@cache
def load_lexicon(languages: tuple[str, ...], directory: Path = LEXICON_DIR) -> Lexicon:
    """Merged lexicon of `languages` in priority order (languages without a file are skipped)."""
    lex = Lexicon()
    for lang in languages:
        path = directory / f"{lang}.tsv"
        if path.exists():
            for term, kind, value in _read_tsv(path):
                lex.add(term, kind, value)
    return lex


PATTERN_KINDS = (
    "grievance",
    "strong_complaint",
    "resolution",
    "irony",
    "sarcasm",
    "thanks",
    "letdown",
    "mishap",
    "notice",
    "undamp",
)
_MACRO = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")


@dataclass(frozen=True)
class Patterns:
    """The lines of patterns.tsv, tried at each word start, each only where a match of it can start.

    One alternation of all the patterns tried at every position of every comment was the costliest
    step of scoring. Most patterns can only start with a few known letters, so the top-level
    alternatives of every line are grouped by the first PREFIX characters they can start with
    (`_prefixes`) into one alternation per word beginning, tried at word starts only. At one word
    the first line (in file order) that matches wins, and the next match starts after it.
    """

    pieces: list[tuple[int, str, frozenset[str] | None]]  # (line, top-level alternative, prefixes)
    lines: list[tuple[str, float]]  # (kind, value) of each line
    # first PREFIX characters of a word -> alternation of the pieces that can start there (or None);
    # filled as words are met. Group p<line>_<n> names the line.
    buckets: dict[str, re.Pattern[str] | None] = field(default_factory=dict)

    def only(self, kinds: frozenset[str]) -> Patterns:
        """The lines of these kinds alone, matched on their own (a match of another kind no longer
        hides them)."""
        return Patterns([p for p in self.pieces if self.lines[p[0]][0] in kinds], self.lines)

    def _bucket(self, key: str) -> re.Pattern[str] | None:
        # key.startswith(p) for some p of the prefixes, as one set test: the heads of the key.
        heads = {key[:k] for k in range(len(key) + 1)}
        groups = [
            f"(?P<p{line}_{n}>{piece})"
            for n, (line, piece, prefixes) in enumerate(self.pieces)
            if prefixes is None or not prefixes.isdisjoint(heads)
        ]
        regex = re.compile(r"(?:" + "|".join(groups) + r")\b") if groups else None
        if len(self.buckets) < 100_000:
            self.buckets[key] = regex
        return regex

    def find(self, words: list[str]) -> list[tuple[str, float, int]]:
        """(kind, value, word position) of every match in the words (joined by single spaces)."""
        folded = " ".join(words)
        out = []
        start = end = 0
        buckets = self.buckets  # one look-up per word, not two (a bucket may be None)
        for position, w in enumerate(words):
            if start >= end:
                key = folded[start : start + PREFIX]
                regex = buckets.get(key, _UNSEEN)
                if regex is _UNSEEN:
                    regex = self._bucket(key)
                m = regex.match(folded, start) if regex is not None else None
                if m is not None:
                    out.append((*self.lines[int(m.lastgroup[1:].partition("_")[0])], position))  # type: ignore[index]
                    end = m.end()
            start += len(w) + 1
        return out


# Patterns are bucketed by the first PREFIX characters a match can start with.
PREFIX = 3
_UNSEEN = object()  # a bucket key met for the first time
_MAX_PREFIXES = 4000


def _prefixes(regex: str) -> frozenset[str] | None:
    """The first PREFIX characters a match of `regex` can start with (shorter when a whole match is
    shorter), or None when they cannot be listed (any letter, too many).

    Reads the parse tree of Python's own regex parser (`re._parser`, private): when it is missing or
    answers something unexpected, None makes the pattern be tried at every word, which is slower but
    finds the same matches.
    """
    try:
        from re import _constants as sre_c
        from re import _parser as sre_parse

        found = _seq(list(sre_parse.parse(regex)), sre_c)
    except Exception:  # noqa: BLE001 - an optimisation only: fall back to "anywhere"
        return None
    return None if found is None else frozenset(s for s, _ in found)


# A set of (text, complete) pairs: `text` is a whole match of the item when `complete`, else its
# first PREFIX characters.
_Strings = set[tuple[str, bool]]


def _concat(a: _Strings, b: _Strings) -> _Strings | None:
    out = set()
    for x, x_complete in a:
        if not x_complete or len(x) >= PREFIX:
            out.add((x[:PREFIX], False))
            continue
        for y, y_complete in b:
            xy = x + y
            out.add((xy[:PREFIX], False) if len(xy) >= PREFIX else (xy, y_complete))
    return out if len(out) <= _MAX_PREFIXES else None


def _seq(items: list, c) -> _Strings | None:
    out: _Strings | None = {("", True)}
    for op, av in items:
        if out is None or all(not done or len(t) >= PREFIX for t, done in out):
            break
        item = _item(op, av, c)
        out = None if item is None else _concat(out, item)
    return out


def _item(op, av, c) -> _Strings | None:
    if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
        return {("", True)}
    if op is c.LITERAL:
        return {(chr(av), True)}
    if op is c.IN:
        chars: set[str] = set()
        for o, a in av:
            if o is c.LITERAL:
                chars.add(chr(a))
            elif o is c.RANGE:
                chars.update(chr(x) for x in range(a[0], a[1] + 1))
            elif o is c.CATEGORY and a is c.CATEGORY_DIGIT:
                chars.update("0123456789")
            else:
                return None
        return {(ch, True) for ch in chars}
    if op is c.SUBPATTERN:
        return _seq(list(av[-1]), c)
    if op is c.BRANCH:
        out: _Strings = set()
        for branch in av[1]:
            found = _seq(list(branch), c)
            if found is None:
                return None
            out |= found
        return out
    if op in (c.MAX_REPEAT, c.MIN_REPEAT):
        low, high, sub = av
        once = _seq(list(sub), c)
        if once is None:
            return None
        out, current = set(), {("", True)}
        for n in range(min(high, PREFIX + low) + 1):
            if n >= low:
                out |= current
            if n == high or not any(done and len(t) < PREFIX for t, done in current):
                break
            current = _concat(current, once)
            if current is None:
                return None
        if low > PREFIX:
            return None
        return out
    return None


def _top_level(regex: str) -> list[str]:
    """`regex` split at its top-level "|" (outside parentheses and character classes)."""
    parts, depth, start, i, in_class = [], 0, 0, 0, False
    while i < len(regex):
        ch = regex[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(regex[start:i])
            start = i + 1
        i += 1
    return [*parts, regex[start:]]


@cache
def load_patterns(directory: Path = LEXICON_DIR) -> Patterns:
    path = directory / "patterns.tsv"
    macros: dict[str, str] = {}
    regexes: list[str] = []
    lines: list[tuple[str, float]] = []
    for lineno, (kind, value, regex) in _tsv_rows(path, "kind<TAB>value<TAB>regex"):

        def expand(m: re.Match[str], lineno: int = lineno) -> str:
            if m.group(1) not in macros:
                raise LexiconError(f"{path}:{lineno}: {{{m.group(1)}}} is not defined above this line")
            return macros[m.group(1)]

        regex = _MACRO.sub(expand, regex)
        try:
            re.compile(regex)
        except re.error as exc:
            raise LexiconError(f"{path}:{lineno}: the regex does not compile ({exc})") from None
        if kind == "define":
            macros[value] = regex
            continue
        if kind not in PATTERN_KINDS:
            raise LexiconError(
                f"{path}:{lineno}: unknown kind {kind!r}; use define or one of {', '.join(PATTERN_KINDS)}"
            )
        try:
            lines.append((kind, float(value)))
        except ValueError:
            raise LexiconError(f"{path}:{lineno}: value {value!r} is not a number") from None
        regexes.append(regex)
    pieces = [(i, piece, _prefixes(piece)) for i, regex in enumerate(regexes) for piece in _top_level(regex)]
    return Patterns(pieces, lines)


@cache
def load_emoji(directory: Path = LEXICON_DIR) -> dict[str, float]:
    path = directory / "emoji.tsv"
    out: dict[str, float] = {}
    for lineno, parts in _tsv_rows(path, "emoji<TAB>valence"):
        try:
            out[parts[0].replace("\ufe0f", "")] = float(parts[1])
        except ValueError:
            raise LexiconError(f"{path}:{lineno}: valence {parts[1]!r} is not a number") from None
    return out
