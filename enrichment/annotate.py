"""Everything enrichment computes for a batch of comments, in columns (what store.py writes back)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from enrichment.intent import KeywordMatcher, classify_intent, priority_of
from enrichment.language import detect_languages
from enrichment.sentiment import (
    LexiconSentiment,
    SentimentModel,
    find_cues,
    find_entries,
    label,
    lexicon_for,
    tokenize,
)


@dataclass
class Annotations:
    language: list[str] = field(default_factory=list)
    sentiment_score: list[float] = field(default_factory=list)
    sentiment_label: list[str] = field(default_factory=list)
    intent: list[str] = field(default_factory=list)
    priority: list[str] = field(default_factory=list)
    keywords: list[str | None] = field(default_factory=list)


class Annotator:
    """Built once per process: the language detector, lexicons and keyword patterns are reused."""

    def __init__(
        self,
        keywords: Mapping[str, Sequence[str]],
        languages: Sequence[str] = ("es", "en"),
        model: SentimentModel | None = None,
    ) -> None:
        self.model: SentimentModel = model or LexiconSentiment()
        self.languages = tuple(languages)
        self.matcher = KeywordMatcher(keywords)

    @property
    def version(self) -> str:
        return self.model.version

    def annotate(self, texts: Sequence[str | None], channels: Sequence[str | None]) -> Annotations:
        langs = detect_languages(texts, preferred=self.languages)
        out = Annotations(language=langs)
        lexicon_model = self.model if isinstance(self.model, LexiconSentiment) else None
        scores = None if lexicon_model else self.model.score(texts, langs)
        for i, (text, lang, channel) in enumerate(zip(texts, langs, channels, strict=True)):
            if lexicon_model is not None:
                score, entries = lexicon_model.analyse(text, lang)
            else:
                score = scores[i]
                tokens = tokenize(text) if text else []
                entries = (
                    find_entries(text, lexicon_for(lang), tokens) + find_cues([w for w, _ in tokens])
                    if text
                    else []
                )
            intent = classify_intent(text, entries, score)
            found = self.matcher.find(text)
            out.sentiment_score.append(score)
            out.sentiment_label.append(label(score))
            out.intent.append(intent)
            out.priority.append(priority_of(intent, channel, score))
            out.keywords.append(",".join(found) or None)
        return out
