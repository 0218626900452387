"""The trend alert rule (alerts/trend_rules.py) on hand-made rows: thresholds, the crisis link, wording."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.crisis_rules import Episode, Incident
from alerts.render import render_message
from alerts.rules import KINDS
from alerts.trend_rules import DayTerm, crisis_terms, trend_alerts_for
from tertulia.config import EXAMPLE_CONFIG, load_config
from tertulia.trends import RisingTerm

DAY = dt.date(2026, 11, 17)  # local (America/Guayaquil, UTC-5)


@pytest.fixture
def config(example_config):
    return example_config


def term(surface, key, *, authors=12, baseline=0, score=4.0, negative=0.9, trend="emerging", mentions=None):
    return RisingTerm(
        term=key,
        surface=surface,
        kind="word",
        trend=trend,
        score=score,
        mentions=mentions or authors,
        authors=authors,
        baseline_authors=baseline,
        negative_share=negative,
        example_keys=(),
    )


def episode(start_utc: dt.datetime, last_utc: dt.datetime, severity="critical") -> Episode:
    inc = Incident(
        incident_id="instagram:ig-cafetertulia:crisis_keywords:2026-11-17T15",
        platform="instagram",
        account_id="ig-cafetertulia",
        signal="crisis_keywords",
        started_at=start_utc,
        last_fired_at=last_utc,
        peak_severity=severity,
        peak_observed=20,
        peak_baseline=0,
        peak_ratio=20,
    )
    return Episode("instagram", "ig-cafetertulia", [inc])


def test_trend_is_an_alert_kind_with_a_channel_and_cooldown(config):
    assert "trend" in KINDS
    assert config.channel_for("trend") == "#comms"
    assert config.slack.cooldown_minutes["trend"] == 720
    assert load_config(EXAMPLE_CONFIG).trends.alert.min_authors == 5


def test_thresholds(config):
    items = [
        DayTerm(
            DAY,
            term("bolsas abiertas", "bols abiert", authors=12, score=4.0, negative=0.9),
            ("Llegó abierta",),
        ),
        DayTerm(DAY, term("pocos", "poc", authors=4, score=4.0)),  # fewer than 5 members
        DayTerm(DAY, term("tibio", "tibi", score=2.5)),  # score below 3
        DayTerm(DAY, term("feliz", "feliz", negative=0.2)),  # mostly positive
        DayTerm(DAY, term("igual", "igual", trend="stable")),
        DayTerm(DAY, term("sin datos", "sin dat", negative=None)),
    ]
    alerts = trend_alerts_for(items, [], config)
    assert len(alerts) == 1
    a = alerts[0]
    assert (a.kind, a.severity, a.dedupe_key, a.thread_key) == (
        "trend",
        "warning",
        "trend:bols abiert:2026-11-17",
        "trend:bols abiert",
    )
    assert a.title == "“bolsas abiertas” is rising, mostly in negative messages"
    assert dict(a.facts) == {
        "Term": "bolsas abiertas",
        "Members": "12 members, new",
        "Messages": "12",
        "Negative": "90 % negative",
        "Score": "4.0 (emerging)",
    }
    assert a.member_text == ("Llegó abierta",)
    assert a.occurred_at == dt.datetime(2026, 11, 17, 5, 0)  # local midnight in UTC
    assert a.digest_group == "trend"


def test_rising_term_states_its_change_against_the_baseline(config):
    (a,) = trend_alerts_for(
        [DayTerm(DAY, term("envío", "envi", authors=20, baseline=6, trend="rising"))], [], config
    )
    assert dict(a.facts)["Members"] == "20 members, up from 1.5 a day"  # 6 members over 4 baseline days


def test_crisis_keywords_during_a_crisis_are_left_to_the_crisis_watch(config):
    assert {"vidri", "reembols", "refund", "glass"} <= crisis_terms(config)
    ep = episode(dt.datetime(2026, 11, 17, 15, 0), dt.datetime(2026, 11, 17, 21, 0))
    items = [
        DayTerm(DAY, term("vidrio", "vidri", authors=65, score=5.7)),
        DayTerm(DAY, term("reembolso", "reembols", authors=28, score=3.7)),
        DayTerm(
            DAY,
            term("geisha reserva", "geish reserv", authors=41, baseline=5, trend="rising"),
            ("Tenía vidrio",),
        ),
        DayTerm(DAY, term("responde", "respond", authors=24, baseline=2)),
    ]
    alerts = trend_alerts_for(items, [ep], config)
    assert len(alerts) == 1
    a = alerts[0]
    assert a.dedupe_key == "trend:crisis:instagram:ig-cafetertulia:crisis_keywords:2026-11-17T15:2026-11-17"
    assert a.title == "Negative terms rising during the crisis on instagram:ig-cafetertulia"
    facts = dict(a.facts)
    assert facts["Crisis watch"] == (
        "episode on instagram:ig-cafetertulia since Tue 17 Nov 10:00 (critical); see #comms"
    )
    assert facts["Rising terms"] == (
        "geisha reserva (41 members, up from 1.2 a day, 90 % negative); responde (24 members, up from 0.5 a day, 90 % negative)"
    )
    assert a.member_text == ("Tenía vidrio",)


def test_a_crisis_keyword_outside_any_crisis_episode_is_alerted(config):
    # the episode ended (3 quiet hours) the day before: the keyword trend is news again
    ep = episode(dt.datetime(2026, 11, 15, 15, 0), dt.datetime(2026, 11, 15, 20, 0))
    (a,) = trend_alerts_for([DayTerm(DAY, term("vidrio", "vidri"))], [ep], config)
    assert a.dedupe_key == "trend:vidri:2026-11-17"


def test_a_watch_level_episode_does_not_count_as_a_crisis(config):
    ep = episode(dt.datetime(2026, 11, 17, 15, 0), dt.datetime(2026, 11, 17, 21, 0), severity="watch")
    (a,) = trend_alerts_for([DayTerm(DAY, term("vidrio", "vidri"))], [ep], config)
    assert a.dedupe_key == "trend:vidri:2026-11-17"


def test_member_words_are_escaped_when_rendered(config):
    (a,) = trend_alerts_for([DayTerm(DAY, term("<!channel>", "<!channel>"), ("<@U123> & co",))], [], config)
    text = render_message(a, tz=config.tz).text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "&lt;@U123&gt; &amp; co" in text
