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


def fold(text: str) -> str:
    """Lower case, accents removed (ñ becomes n, on both sides of the match), apostrophes dropped."""
    text = text.lower()
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("’", "")
    return text.replace("'", "")


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
    # Social text repeats the same few thousand words: remember each word's lookup.
    _memo: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)

    def add(self, term: str, kind: str, value: float) -> None:
        parts = tuple(words(term.rstrip("*")))
        if not parts:
            return
        if len(parts) > 1:
            self.phrases.setdefault(parts, {}).setdefault(kind, value)
        elif term.endswith("*"):
            self.prefixes.setdefault(parts[0], {}).setdefault(kind, value)
        else:
            self.words.setdefault(parts[0], {}).setdefault(kind, value)
        self._memo.clear()

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

    def match_phrase(self, tokens: list[str], i: int) -> tuple[int, dict[str, float]]:
        """Longest phrase starting at tokens[i]: (number of words, kinds), or (0, {})."""
        for n in range(min(MAX_PHRASE, len(tokens) - i), 1, -1):
            kinds = self.phrases.get(tuple(tokens[i : i + n]))
            if kinds is not None:
                return n, kinds
        return 0, {}


def _read_tsv(path: Path) -> list[tuple[str, str, float]]:
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise LexiconError(f"{path}:{lineno}: expected 'term<TAB>kind<TAB>value', got {line!r}")
        term, kind, value = parts
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


PATTERN_KINDS = ("grievance", "strong_complaint", "resolution", "irony", "undamp")
_MACRO = re.compile(r"\{([A-Z]+)\}")


@dataclass(frozen=True)
class Patterns:
    """One compiled alternation per kind; `values[kind][i]` is the value of the i-th alternative."""

    regexes: dict[str, re.Pattern[str]]
    values: dict[str, list[float]]

    def find(self, folded: str) -> list[tuple[str, float, int]]:
        """(kind, value, start offset) of every match in `folded` (words joined by single spaces)."""
        out = []
        for kind, regex in self.regexes.items():
            for m in regex.finditer(folded):
                out.append((kind, self.values[kind][int(m.lastgroup[1:])], m.start()))  # type: ignore[index]
        return out


@cache
def load_patterns(directory: Path = LEXICON_DIR) -> Patterns:
    path = directory / "patterns.tsv"
    macros: dict[str, str] = {}
    alternatives: dict[str, list[str]] = {k: [] for k in PATTERN_KINDS}
    values: dict[str, list[float]] = {k: [] for k in PATTERN_KINDS}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise LexiconError(f"{path}:{lineno}: expected 'kind<TAB>value<TAB>regex', got {line!r}")
        kind, value, regex = parts

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
        if kind not in alternatives:
            raise LexiconError(
                f"{path}:{lineno}: unknown kind {kind!r}; use define or one of {', '.join(PATTERN_KINDS)}"
            )
        try:
            values[kind].append(float(value))
        except ValueError:
            raise LexiconError(f"{path}:{lineno}: value {value!r} is not a number") from None
        alternatives[kind].append(regex)
    regexes = {
        kind: re.compile(r"\b(?:" + "|".join(f"(?P<p{i}>{a})" for i, a in enumerate(alts)) + r")\b")
        for kind, alts in alternatives.items()
        if alts
    }
    return Patterns(regexes, {k: v for k, v in values.items() if v})


@cache
def load_emoji(directory: Path = LEXICON_DIR) -> dict[str, float]:
    path = directory / "emoji.tsv"
    out: dict[str, float] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise LexiconError(f"{path}:{lineno}: expected 'emoji<TAB>valence', got {line!r}")
        try:
            out[parts[0].replace("\ufe0f", "")] = float(parts[1])
        except ValueError:
            raise LexiconError(f"{path}:{lineno}: valence {parts[1]!r} is not a number") from None
    return out
