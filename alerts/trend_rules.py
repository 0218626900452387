"""Trend alerts from `marts.fct_trending_terms`: a term many members start using at once, mostly in
negative messages ("the bags arrive open", "#BoicotCafé"), is often the first sign of a problem.

A community-wide day row fires when the term is emerging or rising with `trends.alert.min_score`, at
least `trends.alert.min_authors` members and `trends.alert.min_negative_share` of its messages
negative; the local day of `now` and the day before are read, so a term rising late in the evening is
still caught the next morning.

The crisis watch (alerts/crisis_rules.py) already alerts on its own keywords: a trend on one of them
while a crisis episode is on says nothing new and is skipped. Any other negative trend during a crisis
episode is sent with the episode named, so the comms team reads it as part of that crisis.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import duckdb

from alerts.crisis_rules import RANK, Episode, load_episodes
from alerts.model import Alert
from tertulia.clock import local_days_utc
from tertulia.config import Config
from tertulia.terms import extract_terms
from tertulia.trends import RisingTerm, rising_terms
from tertulia.warehouse import table_exists

MAX_TERMS_PER_DAY = 20
MEMBER_TEXT_CHARS = 280


@dataclass(frozen=True)
class DayTerm:
    day: dt.date  # local day of the row
    term: RisingTerm
    examples: tuple[str, ...] = ()  # member text of the example messages (untrusted)


def crisis_terms(config: Config) -> set[str]:
    """The crisis keywords as trend term keys (folded and stemmed like the messages' terms)."""
    keys: set[str] = set()
    for lang, words in config.crisis.keywords.items():
        for word in words:
            keys.update(t.term for t in extract_terms(word, lang))
    return keys


def _overlapping(episodes: Iterable[Episode], day: dt.date, config: Config) -> list[Episode]:
    start, end = local_days_utc(config.tz, day, day)
    quiet = dt.timedelta(hours=config.crisis.end_after_quiet_hours)
    return [
        ep
        for ep in episodes
        if RANK.get(ep.peak_severity, 0) >= RANK["warning"]
        and ep.started_at < end
        and ep.last_fired_at + quiet > start
    ]


def _truncate(text: str) -> str:
    return text if len(text) <= MEMBER_TEXT_CHARS else text[: MEMBER_TEXT_CHARS - 1] + "…"


def _qualifies(t: RisingTerm, config: Config) -> bool:
    rule = config.trends.alert
    return (
        t.trend in ("emerging", "rising")
        and t.score >= rule.min_score
        and t.authors >= rule.min_authors
        and t.negative_share is not None
        and t.negative_share >= rule.min_negative_share
    )


def _term_facts(t: RisingTerm, config: Config) -> list[tuple[str, str]]:
    return [
        ("Term", t.surface),
        ("Members", t.change("day", config.trends.baseline_periods)),
        ("Messages", str(t.mentions)),
        ("Negative", t.sentiment()),
        ("Score", f"{t.score:.1f} ({t.trend})"),
    ]


def trend_alerts_for(terms: Sequence[DayTerm], episodes: Sequence[Episode], config: Config) -> list[Alert]:
    """Pure rule: the alerts these community-wide day terms call for, given the crisis episodes.

    Outside a crisis episode, one alert per term. During one, the crisis watch has the comms team's
    attention already: its own keywords are left out, and the other terms go as one alert per day that
    names the episode, in a thread of its own."""
    rule = config.trends.alert
    keywords = crisis_terms(config)
    why = (
        f"score ≥ {rule.min_score:g}, at least {rule.min_authors} members and "
        f"{100 * rule.min_negative_share:.0f} % of the messages negative"
    )
    out: list[Alert] = []
    by_episode: dict[tuple[str, dt.date], tuple[Episode, list[DayTerm]]] = {}
    for item in terms:
        t = item.term
        if not _qualifies(t, config):
            continue
        during = _overlapping(episodes, item.day, config)
        if during:
            if t.term not in keywords:  # a keyword is the crisis watch's own: already alerted there
                by_episode.setdefault((during[0].episode_id, item.day), (during[0], []))[1].append(item)
            continue
        out.append(
            Alert(
                kind="trend",
                severity="warning",
                dedupe_key=f"trend:{t.term}:{item.day.isoformat()}",
                title=f"“{t.surface}” is rising, mostly in negative messages",
                facts=tuple(_term_facts(t, config)),
                member_text=tuple(_truncate(x) for x in item.examples),
                thread_key=f"trend:{t.term}",
                occurred_at=local_days_utc(config.tz, item.day, item.day)[0],
                reason=f"{t.authors} members used it on {item.day:%a %d %b}; {why}",
                digest_group="trend",
            )
        )
    for (episode_id, day), (ep, items) in by_episode.items():
        local = ep.started_at.replace(tzinfo=dt.UTC).astimezone(config.tz)
        crisis_channel = config.channel_for("crisis") or "the crisis alerts"
        facts = [
            (
                "Crisis watch",
                f"episode on {ep.platform}:{ep.account_id} since {local:%a %d %b %H:%M} ({ep.peak_severity}); "
                f"see {crisis_channel}",
            ),
            (
                "Rising terms",
                "; ".join(i.term.describe("day", config.trends.baseline_periods) for i in items),
            ),
        ]
        examples = [x for i in items[:2] for x in i.examples[:1]]
        out.append(
            Alert(
                kind="trend",
                severity="warning",
                dedupe_key=f"trend:crisis:{episode_id}:{day.isoformat()}",
                title=f"Negative terms rising during the crisis on {ep.platform}:{ep.account_id}",
                facts=tuple(facts),
                member_text=tuple(_truncate(x) for x in examples),
                thread_key=f"trend:crisis:{episode_id}",
                occurred_at=local_days_utc(config.tz, day, day)[0],
                reason=(
                    f"{len(items)} term(s) beyond the crisis keywords on {day:%a %d %b}; {why}; "
                    "the crisis watch's own keywords are left to its alerts"
                ),
            )
        )
    return out


def _examples(
    con: duckdb.DuckDBPyConnection, items: Sequence[DayTerm]
) -> dict[tuple[str, dt.date], list[str]]:
    """The two most negative messages using each term on its day (member text, untrusted)."""
    if not items or not table_exists(con, "intermediate", "int_terms_mentioned"):
        return {}
    rows = con.execute(
        """
        select term, created_date, message from (
            select m.term, m.created_date, c.message,
                row_number() over (
                    partition by m.term, m.created_date order by m.sentiment_score nulls last, m.comment_key
                ) as rn
            from intermediate.int_terms_mentioned as m
            join staging.stg_social__comments as c on c.platform = m.platform and c.comment_id = m.comment_id
            where m.term in (select unnest(?::varchar[])) and m.created_date between ? and ?
                and c.message is not null
        ) where rn <= 5
        order by term, created_date, rn
        """,
        [sorted({i.term.term for i in items}), min(i.day for i in items), max(i.day for i in items)],
    ).fetchall()
    out: dict[tuple[str, dt.date], list[str]] = {}
    for term, day, message in rows:
        texts = out.setdefault((term, day), [])
        if message not in texts and len(texts) < 2:  # copy-pasted complaints: one of each
            texts.append(message)
    return out


def trend_alerts(con: duckdb.DuckDBPyConnection, config: Config, now: dt.datetime) -> list[Alert]:
    """Alerts for the community's negative emerging terms of today and yesterday (local days)."""
    if not table_exists(con, "marts", "fct_trending_terms"):
        return []
    today = now.replace(tzinfo=dt.UTC).astimezone(config.tz).date()
    items: list[DayTerm] = []
    for day in (today - dt.timedelta(days=1), today):
        for term in rising_terms(con, "day", day, limit=MAX_TERMS_PER_DAY):
            items.append(DayTerm(day, term))
    items = [i for i in items if _qualifies(i.term, config)]
    if not items:
        return []
    texts = _examples(con, items)
    items = [DayTerm(i.day, i.term, tuple(texts.get((i.term.term, i.day), ()))) for i in items]
    return trend_alerts_for(items, load_episodes(con, config, now), config)
