"""Scoring of distinct texts, in this process or spread over worker processes.

What the annotator and the terms compute depends on the text alone, except the priority, which also
reads the channel (enrichment.intent.priority_of): enrichment.store scores each distinct text of a
batch once here and computes the priority per (text, channel) pair it actually holds.

The scorer is pure Python, so one process uses one core whatever the number of threads; above
`PARALLEL_MIN_TEXTS` distinct texts in a batch the texts are split over `workers()` processes. They
are started with `spawn` (a fork of a process holding DuckDB's threads can inherit a held lock), once
per enrichment run, and each builds its own copy of the annotator, pickled from the caller's.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from enrichment.annotate import Annotator
from tertulia.resources import cores
from tertulia.terms import extract_terms

log = logging.getLogger(__name__)

# Below this many distinct texts in a batch, one process scores them sooner than it could hand them
# out: starting two spawned workers costs about a second (interpreter, lingua, lexicons), and a
# process scores about 7,000 texts a second.
PARALLEL_MIN_TEXTS = 4_000
WORKERS_ENV = "TERTULIA_ENRICH_WORKERS"
# Texts whose results a run keeps (about 1 KB each with their terms): repeats across batches are
# scored once per run as long as they fit.
CACHE_TEXTS = 200_000


def workers() -> int:
    """Processes that score: TERTULIA_ENRICH_WORKERS, else the cores this process may run on."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    if value:
        try:
            n = int(value)
        except ValueError:
            raise ValueError(
                f"{WORKERS_ENV}={value!r}: expected a whole number of processes (1 scores in the pipeline's own process)"
            ) from None
        if n < 1:
            raise ValueError(f"{WORKERS_ENV}={value!r}: expected at least 1")
        return n
    return cores()


@dataclass
class Scored:
    """Per distinct text (same order as the texts): what enrichment writes, and the terms as
    (text index, term, surface, kind) rows."""

    language: list[str] = field(default_factory=list)
    sentiment_score: list[float] = field(default_factory=list)
    sentiment_label: list[str] = field(default_factory=list)
    intent: list[str] = field(default_factory=list)
    keywords: list[str | None] = field(default_factory=list)
    term_text: list[int] = field(default_factory=list)
    term: list[str] = field(default_factory=list)
    surface: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)

    def extend(self, other: Scored, offset: int) -> None:
        for name in ("language", "sentiment_score", "sentiment_label", "intent", "keywords"):
            getattr(self, name).extend(getattr(other, name))
        self.term_text.extend(i + offset for i in other.term_text)
        for name in ("term", "surface", "kind"):
            getattr(self, name).extend(getattr(other, name))


def score_texts(annotator: Annotator, texts: Sequence[str | None]) -> Scored:
    """Language, sentiment, intent, keywords and terms of each text, in one process."""
    # The channel only feeds the priority, which the caller computes per (text, channel).
    ann = annotator.annotate(texts, [None] * len(texts))
    out = Scored(ann.language, ann.sentiment_score, ann.sentiment_label, ann.intent, ann.keywords)
    for i, (text, language) in enumerate(zip(texts, ann.language, strict=True)):
        for t in extract_terms(text, language):
            out.term_text.append(i)
            out.term.append(t.term)
            out.surface.append(t.surface)
            out.kind.append(t.kind)
    return out


_worker_annotator: Annotator | None = None


def _init_worker(pickled: bytes) -> None:
    global _worker_annotator
    _worker_annotator = pickle.loads(pickled)  # noqa: S301 - our own annotator, pickled by our parent


def _score_in_worker(texts: list[str | None]) -> Scored:
    assert _worker_annotator is not None, "the worker was started without its annotator"
    return score_texts(_worker_annotator, texts)


class Scorer:
    """Scores distinct texts for one enrichment run; starts its worker processes on first need.

    Results are kept for the run (up to `cache_texts` texts, then forgotten and kept again), so a
    text repeated across batches is scored once per run, not once per batch. Use as a context
    manager: the workers stop when the run ends."""

    def __init__(
        self,
        annotator: Annotator,
        *,
        processes: int | None = None,
        min_parallel: int | None = None,
        cache_texts: int = CACHE_TEXTS,
    ):
        self.annotator = annotator
        self.processes = processes if processes is not None else workers()
        self.min_parallel = PARALLEL_MIN_TEXTS if min_parallel is None else min_parallel
        self.cache_texts = cache_texts
        self.scored_texts = 0  # texts actually scored in this run (the rest came from the cache)
        self._pool: Executor | None = None
        self._pickled: bytes | None = None
        self._known: dict[str | None, int] = {}  # text -> its row in self._cache
        self._cache = Scored()
        self._cache_terms: list[range] = []  # per cached text, its rows of self._cache's terms
        if self.processes > 1:
            try:
                self._pickled = pickle.dumps(annotator)
            except (pickle.PicklingError, TypeError, AttributeError):
                # A sentiment model that cannot be pickled (a loaded transformer, say) scores here.
                self.processes = 1

    def __enter__(self) -> Scorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def score(self, texts: Sequence[str | None]) -> Scored:
        """What score_texts gives for `texts` (distinct texts), from the cache where it can."""
        new = [t for t in dict.fromkeys(texts) if t not in self._known]
        if len(self._known) + len(new) > self.cache_texts:
            self._known, self._cache, self._cache_terms = {}, Scored(), []
            new = list(dict.fromkeys(texts))
        if new:
            self._remember(new, self._score_new(new))
        out = Scored()
        c = self._cache
        rows = [self._known[t] for t in texts]
        out.language = [c.language[r] for r in rows]
        out.sentiment_score = [c.sentiment_score[r] for r in rows]
        out.sentiment_label = [c.sentiment_label[r] for r in rows]
        out.intent = [c.intent[r] for r in rows]
        out.keywords = [c.keywords[r] for r in rows]
        for i, r in enumerate(rows):
            for k in self._cache_terms[r]:
                out.term_text.append(i)
                out.term.append(c.term[k])
                out.surface.append(c.surface[k])
                out.kind.append(c.kind[k])
        return out

    def _remember(self, texts: list[str | None], scored: Scored) -> None:
        base = len(self._cache.language)
        first_term = len(self._cache.term)
        self._cache.extend(scored, base)
        # scored.term_text is ascending: each text's terms are one run of rows.
        starts = [first_term] * (len(texts) + 1)
        counts = [0] * len(texts)
        for i in scored.term_text:
            counts[i] += 1
        for i in range(len(texts)):
            starts[i + 1] = starts[i] + counts[i]
        for i, t in enumerate(texts):
            self._known[t] = base + i
            self._cache_terms.append(range(starts[i], starts[i + 1]))

    def _score_new(self, texts: list[str | None]) -> Scored:
        self.scored_texts += len(texts)
        if self.processes <= 1 or len(texts) < self.min_parallel:
            return score_texts(self.annotator, texts)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self._pickled,),
            )
        size = -(-len(texts) // self.processes)
        chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
        out = Scored()
        offset = 0
        try:
            parts = list(self._pool.map(_score_in_worker, chunks))
        except BrokenProcessPool as exc:
            # A worker died (killed, out of memory) or could not start: spawn runs the program's main
            # module again in each worker, and a script without `if __name__ == "__main__":` dies there.
            log.warning(
                "enrichment: the scoring processes stopped (%s); scoring in this process from now on. "
                "If the program calling enrichment is a script, guard its entry point with "
                '`if __name__ == "__main__":`, or set %s=1.',
                exc,
                WORKERS_ENV,
            )
            self.close()
            self.processes = 1
            return score_texts(self.annotator, texts)
        for chunk, part in zip(chunks, parts, strict=True):
            out.extend(part, offset)
            offset += len(chunk)
        return out
