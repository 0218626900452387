"""Rising terms read from `marts.fct_trending_terms`, worded for people: the daily digest, the weekly
report and the trend alerts use these, so a term reads the same everywhere.

Only the community-wide rows (platform and account_id 'all') are read here: the per-account and
per-platform rows are for BI. A word and the phrase it belongs to often rise together ("geisha",
"reserva", "geisha reserva"): only the first of them, by score, is listed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from tertulia.warehouse import table_exists

RISING = ("emerging", "rising")
_COLUMNS = (
    "term, surface, kind, trend, score, mentions, authors, baseline_authors, negative_share, "
    "example_comment_key_1, example_comment_key_2"
)


@dataclass(frozen=True)
class RisingTerm:
    term: str
    surface: str
    kind: str
    trend: str
    score: float
    mentions: int
    authors: int
    baseline_authors: int
    negative_share: float | None
    example_keys: tuple[str, ...]

    def change(self, period: str, baseline_periods: int) -> str:
        """ "65 members, new" or "41 members, up from 1.2 a day"."""
        members = f"{self.authors} member{'s' if self.authors != 1 else ''}"
        if self.trend == "emerging" and self.baseline_authors == 0:
            return f"{members}, new"
        before = self.baseline_authors / baseline_periods
        return f"{members}, up from {before:.1f} a {period}"

    def sentiment(self) -> str:
        if self.negative_share is None:
            return "sentiment n/a"
        return f"{100 * self.negative_share:.0f} % negative"

    def describe(self, period: str, baseline_periods: int) -> str:
        return f"{self.surface} ({self.change(period, baseline_periods)}, {self.sentiment()})"


def _covered(term: RisingTerm, listed: list[RisingTerm]) -> bool:
    words = set(term.surface.split())
    return any(words <= set(other.surface.split()) or set(other.surface.split()) <= words for other in listed)


def rising_terms(
    con: duckdb.DuckDBPyConnection, period: str, period_start: dt.date, *, limit: int
) -> list[RisingTerm]:
    """The community's emerging and rising terms of one period, highest score first; [] when the mart
    is not built."""
    if not table_exists(con, "marts", "fct_trending_terms"):
        return []
    rows = con.execute(
        f"select {_COLUMNS} from marts.fct_trending_terms "  # noqa: S608 (column list is a constant)
        "where platform = 'all' and account_id = 'all' and period = ? and period_start = ? "
        "and trend in ('emerging', 'rising') "
        "order by score desc, case kind when 'phrase' then 0 else 1 end, term",
        [period, period_start],
    ).fetchall()
    out: list[RisingTerm] = []
    for r in rows:
        term = RisingTerm(
            term=r[0],
            surface=r[1],
            kind=r[2],
            trend=r[3],
            score=float(r[4]),
            mentions=int(r[5]),
            authors=int(r[6]),
            baseline_authors=int(r[7]),
            negative_share=None if r[8] is None else float(r[8]),
            example_keys=tuple(k for k in r[9:11] if k),
        )
        if _covered(term, out):
            continue
        out.append(term)
        if len(out) >= limit:
            break
    return out
