"""Language of each comment: lingua, restricted to a few languages, with a prior for the community's.

Short comments are ambiguous between Spanish and Portuguese ("me encanta este café" comes out
Portuguese at 0.68 against Spanish at 0.26). A community configured as `[es, en]` mostly hears
Spanish and English, so their confidences are multiplied by `PRIOR` before the best is taken: a
clearly Portuguese comment ("obrigado pelo café, muito bom") still comes out `pt`.

Low-accuracy mode (trigrams only) is used: it is several times faster than high-accuracy mode
(measured ~35k against ~3.5k comments/s here), but on short texts it errs ("This is a scam,
terrible" comes out French). Function words settle those: each very common word of a language
found in the text adds `FUNCTION_WORD_WEIGHT` to that language's score.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from tertulia.vocabulary import LANGUAGES

UNDETERMINED = "und"
# The one list (core vocabulary): community.yml names languages from it, checked on load.
SUPPORTED = LANGUAGES
PRIOR = 3.0
# Fewer letters than this carry no language ("ok", "👍", "jaja"): 'und'.
MIN_LETTERS = 3
FUNCTION_WORD_WEIGHT = 0.2
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)
# MIN_LETTERS letters anywhere in the text (stops at the third instead of listing them all).
_ENOUGH_LETTERS = re.compile(rf"[^\W\d_](?:[\W\d_]*[^\W\d_]){{{MIN_LETTERS - 1}}}")
FUNCTION_WORDS = {
    "es": set(
        "el la los las de del que y en un una es por con para no se me mi lo al muy pero este esta más ya".split()
    ),
    "en": set(
        "the a an is are was were of and to in it this that i you my for with not on at be have but so".split()
    ),
    "pt": set(
        "o os as do da dos das que e em um uma é por com para não se me meu muito mas este esta obrigado".split()
    ),
    "fr": set("le la les de des et en un une est pour avec pas ne je vous mon très mais ce cette".split()),
    "it": set("il lo la gli le di del che e in un una è per con non mi molto ma questo questa".split()),
    "de": set("der die das und ist nicht ein eine ich mit für sehr aber zu den dem".split()),
}


@cache
def _detector():
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, c.upper()) for c in SUPPORTED]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_low_accuracy_mode().build()


def detect_languages(texts: Sequence[str | None], preferred: Sequence[str] = ("es", "en")) -> list[str]:
    """ISO 639-1 code per text, or 'und' when the text has too few letters to tell."""
    out = [UNDETERMINED] * len(texts)
    todo = [i for i, t in enumerate(texts) if t and _ENOUGH_LETTERS.search(t)]
    if not todo:
        return out
    # lingua's Rust side spreads the batch over the cores; one call per batch, not per text.
    confidences = _detector().compute_language_confidence_values_in_parallel([texts[i] for i in todo])
    prefer = set(preferred)
    codes = _codes()
    by_word = _function_word_languages()
    # The Python around lingua's call cost as much as the call: the code of a lingua language is
    # looked up once per process, and each word once per text (not once per language).
    for i, values in zip(todo, confidences, strict=True):
        hits: dict[str, int] = {}
        for w in _WORDS.findall(texts[i].lower()):  # type: ignore[union-attr]
            for code in by_word.get(w, ()):
                hits[code] = hits.get(code, 0) + 1
        best, best_score = UNDETERMINED, 0.0
        for cv in values:
            code = codes[cv.language]
            score = cv.value * (PRIOR if code in prefer else 1.0) + FUNCTION_WORD_WEIGHT * hits.get(code, 0)
            if score > best_score:
                best, best_score = code, score
        out[i] = best
    return out


@cache
def _codes() -> dict:
    from lingua import Language

    return {lang: lang.iso_code_639_1.name.lower() for lang in Language.all()}


@cache
def _function_word_languages() -> dict[str, tuple[str, ...]]:
    by_word: dict[str, tuple[str, ...]] = {}
    for code, words in FUNCTION_WORDS.items():
        for w in words:
            by_word[w] = (*by_word.get(w, ()), code)
    return by_word
