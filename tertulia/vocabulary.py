"""The closed lists more than one layer checks against: alert kinds, severities, comment languages.

They live in the core because the configuration checks community.yml's keys against them on load
(`slack.channels`, `enrichment` languages...), and because the quality gates and the alert rules both
speak of alert kinds (a failed mart holds back the kinds that read it). A new kind or language added
here is accepted everywhere without another list to keep in step.
"""

from __future__ import annotations

from typing import Literal, get_args

Kind = Literal["crisis", "sla", "data_quality", "digest", "trend", "pipeline"]
Severity = Literal["info", "warning", "critical"]
ALERT_KINDS: tuple[str, ...] = get_args(Kind)
SEVERITIES: tuple[str, ...] = get_args(Severity)

# What people call the alert kinds, for messages.
KIND_NAMES = {
    "sla": "SLA alerts",
    "crisis": "Crisis alerts",
    "digest": "Digest",
    "data_quality": "Data alerts",
    "trend": "Trend alerts",
    "pipeline": "Pipeline alerts",
}

# Alert kinds computed from each mart (alerts/sla_rules, crisis_rules, digest read them): a failed gate on
# the mart holds those kinds back for the run. fct_post_performance feeds BI only.
HELD_KINDS_BY_MART: dict[str, frozenset[str]] = {
    "fct_sla_events": frozenset({"sla", "digest"}),
    "fct_crisis_signals": frozenset({"crisis"}),
    "fct_crisis_incidents": frozenset({"crisis"}),
    "agg_engagement_daily": frozenset({"digest"}),
    "dim_members": frozenset({"digest"}),
    # The digest shows one line of it: a failed trends gate holds the trend alerts, not the whole digest.
    "fct_trending_terms": frozenset({"trend"}),
}


def ordered_kinds(kinds: frozenset[str] | set[str]) -> list[str]:
    """Alert kinds in the order people rank them: crisis, SLA, trend, digest."""
    order = ("crisis", "sla", "trend", "digest", "data_quality", "pipeline")
    return sorted(kinds, key=lambda k: (order.index(k) if k in order else len(order), k))


# Languages the enrichment detects (enrichment.language) and community.yml may name.
LANGUAGES = ("es", "en", "pt", "fr", "it", "de")
