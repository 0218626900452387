"""What the quality gates expect of each table, as plain data: no Great Expectations import here.

A suite is the set of checks on one table. Each check names a GX Core expectation class and its
arguments, a label a person reads in Slack and in `tertulia.dq_results` ("business minutes
non-negative"), and the frame columns it needs, so a check on a column a mart does not have (yet) is
skipped with a note instead of failing the run.

Raw suites check the new rows of each run as landed (text); the frame read for them carries each
typed column parsed the way staging parses it, plus `<column>__unparsed` holding the text that did
not parse, so "parses as a timestamp" shows the offending values. Mart suites check the tables
alerts and BI read; a failed mart suite holds back the alert kinds that read that mart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from tertulia.contract import DATE, INTEGER, TIMESTAMP, Entity
from tertulia.vocabulary import HELD_KINDS_BY_MART

NUMERIC_TYPES = [
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64",
    "Int8Dtype", "Int16Dtype", "Int32Dtype", "Int64Dtype", "Float32Dtype", "Float64Dtype",
]  # fmt: skip
TIMESTAMP_TYPES = ["datetime64", "DatetimeTZDtype"]


@dataclass(frozen=True)
class Check:
    label: str
    expectation: str  # GX Core class name in great_expectations.expectations
    kwargs: dict[str, Any]
    needs: tuple[str, ...]  # frame columns the check reads
    column: str | None = None  # the column it is about, for dq_results


@dataclass
class Suite:
    name: str  # "raw.comments", "marts.fct_sla_events"
    schema: str
    table: str
    checks: list[Check]
    holds: frozenset[str] = frozenset()
    notes: list[str] = field(default_factory=list)


# --- check builders -------------------------------------------------------------------------------


def exists(col: str) -> Check:
    return Check(f"column {col} present", "ExpectColumnToExist", {"column": col}, (), col)


def not_null(col: str, label: str | None = None) -> Check:
    return Check(label or f"{col} not empty", "ExpectColumnValuesToNotBeNull", {"column": col}, (col,), col)


def unique(cols: tuple[str, ...], label: str | None = None) -> Check:
    label = label or f"{' + '.join(cols)} unique"
    if len(cols) == 1:
        return Check(label, "ExpectColumnValuesToBeUnique", {"column": cols[0]}, cols, cols[0])
    return Check(label, "ExpectCompoundColumnsToBeUnique", {"column_list": list(cols)}, cols, ", ".join(cols))


def between(
    col: str, label: str, *, min_value: Any = None, max_value: Any = None, strict_min: bool = False
) -> Check:
    kwargs: dict[str, Any] = {"column": col, "min_value": min_value, "max_value": max_value}
    if strict_min:
        kwargs["strict_min"] = True
    return Check(label, "ExpectColumnValuesToBeBetween", kwargs, (col,), col)


def non_negative(col: str, label: str | None = None) -> Check:
    return between(col, label or f"{col} non-negative", min_value=0)


def in_set(col: str, values: tuple[str, ...], label: str | None = None) -> Check:
    label = label or f"{col} is one of {', '.join(values)}"
    return Check(
        label, "ExpectColumnValuesToBeInSet", {"column": col, "value_set": list(values)}, (col,), col
    )


def not_above(small: str, big: str, label: str) -> Check:
    """small <= big on every row where both are given."""
    kwargs = {
        "column_A": big,
        "column_B": small,
        "or_equal": True,
        "ignore_row_if": "either_value_is_missing",
    }
    return Check(label, "ExpectColumnPairValuesAToBeGreaterThanB", kwargs, (small, big), f"{small}, {big}")


def null_column(col: str, label: str, about: str) -> Check:
    return Check(label, "ExpectColumnValuesToBeNull", {"column": col}, (col,), about)


def of_types(col: str, types: list[str], label: str) -> Check:
    return Check(label, "ExpectColumnValuesToBeInTypeList", {"column": col, "type_list": types}, (col,), col)


# --- raw entities ---------------------------------------------------------------------------------

UNPARSED = "__unparsed"
GIVEN = "__text"


def future_limit(now: dt.datetime, tolerance_minutes: int) -> dt.datetime:
    return now + dt.timedelta(minutes=tolerance_minutes)


def _ahead(tolerance_minutes: int) -> str:
    if tolerance_minutes % 60 == 0:
        return f"{tolerance_minutes // 60} h"
    return f"{tolerance_minutes} min"


def raw_suite(entity: Entity, present: set[str], *, now: dt.datetime, tolerance_minutes: int) -> Suite:
    """Checks on the new rows of one raw table. `present`: the table's columns in the warehouse."""
    suite = Suite(f"raw.{entity.name}", "raw", entity.name, [])
    limit = future_limit(now, tolerance_minutes)
    for c in entity.columns:
        if c.required:
            suite.checks.append(exists(c.name))
    if all(k in present for k in entity.key):
        suite.checks.append(unique(entity.key, f"{' + '.join(entity.key)} unique (key)"))
    for c in entity.columns:
        if c.name not in present:
            continue
        if not c.nullable:
            # Typed columns are checked on their text: a value that does not parse is not "empty".
            typed = c.kind in (INTEGER, TIMESTAMP, DATE)
            col = c.name + GIVEN if typed else c.name
            suite.checks.append(
                Check(f"{c.name} not empty", "ExpectColumnValuesToNotBeNull", {"column": col}, (col,), c.name)
            )
        if c.kind == INTEGER:
            suite.checks.append(null_column(c.name + UNPARSED, f"{c.name} parses as a whole number", c.name))
            suite.checks.append(non_negative(c.name, f"{c.name} non-negative"))
        elif c.kind == TIMESTAMP:
            suite.checks.append(null_column(c.name + UNPARSED, f"{c.name} parses as a timestamp", c.name))
            if not c.future_allowed:
                label = f"{c.name} not in the future (> {_ahead(tolerance_minutes)} ahead)"
                suite.checks.append(between(c.name, label, max_value=limit))
        elif c.kind == DATE:
            suite.checks.append(null_column(c.name + UNPARSED, f"{c.name} parses as a date", c.name))
            suite.checks.append(between(c.name, f"{c.name} not in the future", max_value=limit))
        if c.name in entity.allowed:
            suite.checks.append(in_set(c.name, entity.allowed[c.name], f"{c.name} is a known value"))
    if {"reach", "impressions"} <= present:
        suite.checks.append(not_above("reach", "impressions", "reach not above impressions"))
    return suite


# --- marts ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MartSpec:
    """Checks on one mart. Keys are alternatives: the first whose columns all exist is checked."""

    name: str
    required: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]
    checks: tuple[Check, ...]
    numeric: tuple[str, ...] = ()
    # Timestamps that record something that happened: never later than the run (plus tolerance).
    past_timestamps: tuple[str, ...] = ()


SLA_STATUSES = ("met", "breached", "at_risk", "pending")
MEMBER_LEVELS = ("observer", "participant", "fan", "ambassador")

RATE = {"min_value": 0, "max_value": 1}

# Checked against the marts' documented columns (dbt_project/models/marts/*/_*__models.yml). dbt's own
# tests (unique, not_null, accepted_values) guard the build; these are the gates alerts wait on.
MART_SPECS: tuple[MartSpec, ...] = (
    MartSpec(
        "fct_sla_events",
        required=("sla_event_id", "status", "arrived_at", "target_minutes", "calendar_minutes_to_respond",
                  "business_minutes_to_respond", "sla_breach_at"),
        keys=(("sla_event_id",),),
        checks=(
            in_set("status", SLA_STATUSES, "status is met, breached, at_risk or pending"),
            not_null("status", "status set"),
            not_null("arrived_at", "arrival time set"),
            non_negative("calendar_minutes_to_respond", "calendar minutes non-negative"),
            non_negative("business_minutes_to_respond", "business minutes non-negative"),
            between("target_minutes", "target minutes positive", min_value=0, strict_min=True),
            not_above("business_minutes_to_respond", "calendar_minutes_to_respond",
                      "business minutes not above calendar minutes"),
            not_above("arrived_at", "first_response_at", "first response not before arrival"),
            not_above("arrived_at", "sla_breach_at", "breach time not before arrival"),
            not_above("at_risk_at", "sla_breach_at", "at-risk time not after breach time"),
        ),
        numeric=("target_minutes", "calendar_minutes_to_respond", "business_minutes_to_respond"),
        past_timestamps=("arrived_at", "first_response_at"),
    ),
    MartSpec(
        "agg_engagement_daily",
        required=("engagement_day_key", "metric_date", "impressions", "reach", "post_impressions", "interactions",
                  "engagement_rate"),
        keys=(("engagement_day_key",),),
        checks=(
            non_negative("impressions", "impressions non-negative"),
            non_negative("reach", "reach non-negative"),
            non_negative("followers", "followers non-negative"),
            non_negative("post_impressions", "post impressions non-negative"),
            non_negative("interactions", "interactions non-negative"),
            non_negative("posts_published", "posts published non-negative"),
            not_above("reach", "impressions", "reach not above impressions"),
            between("engagement_rate", "engagement rate within [0, 1]", **RATE),
        ),
        numeric=("impressions", "reach", "post_impressions", "interactions", "engagement_rate"),
        past_timestamps=("metric_date",),
    ),
    MartSpec(
        "fct_post_performance",
        required=("post_key", "published_at", "impressions", "reach", "interactions", "engagement_rate"),
        keys=(("post_key",),),
        checks=(
            non_negative("impressions", "impressions non-negative"),
            non_negative("reach", "reach non-negative"),
            non_negative("interactions", "interactions non-negative"),
            not_above("reach", "impressions", "reach not above impressions"),
            not_above("impressions_24h", "impressions_7d", "impressions at 24 h not above those at 7 days"),
            not_above("impressions_7d", "impressions", "impressions at 7 days not above lifetime"),
            between("engagement_rate", "engagement rate within [0, 1]", **RATE),
            between("engagement_rate_24h", "engagement rate at 24 h within [0, 1]", **RATE),
            between("engagement_rate_7d", "engagement rate at 7 days within [0, 1]", **RATE),
            between("negative_comment_share", "negative comment share within [0, 1]", **RATE),
        ),
        numeric=("impressions", "reach", "interactions", "engagement_rate"),
        past_timestamps=("published_at", "last_captured_at"),
    ),
    MartSpec(
        "fct_crisis_signals",
        required=("signal_key", "hour_at", "inbound_count", "negative_count", "volume_baseline", "volume_ratio",
                  "negative_share", "keyword_count_window"),
        keys=(("signal_key",),),
        checks=(
            non_negative("inbound_count", "inbound count non-negative"),
            non_negative("negative_count", "negative count non-negative"),
            not_above("negative_count", "inbound_count", "negative messages not above inbound messages"),
            not_above("negative_count_window", "inbound_count_window",
                      "negative messages in the window not above inbound messages in it"),
            non_negative("volume_baseline", "volume baseline non-negative"),
            non_negative("volume_ratio", "volume ratio non-negative"),
            non_negative("keyword_count_window", "keyword count non-negative"),
            non_negative("keyword_ratio", "keyword ratio non-negative"),
            non_negative("negative_share_ratio", "negative share ratio non-negative"),
            between("negative_share", "negative share within [0, 1]", **RATE),
            between("negative_share_baseline", "negative share baseline within [0, 1]", **RATE),
            between("signals_fired", "signals fired between 0 and 4", min_value=0, max_value=4),
        ),
        numeric=("inbound_count", "negative_count", "volume_baseline", "volume_ratio", "negative_share"),
        past_timestamps=("hour_at",),
    ),
    MartSpec(
        "fct_crisis_incidents",
        required=("incident_id", "started_at", "last_fired_at", "peak_severity", "signals"),
        keys=(("incident_id",),),
        checks=(
            not_above("started_at", "last_fired_at", "start not after last firing"),
            not_above("last_fired_at", "ended_at", "end not before last firing"),
            not_above("started_at", "first_alert_at", "alert not before the start"),
            non_negative("signal_incidents", "signal incidents non-negative"),
            non_negative("inbound_count", "inbound count non-negative"),
            not_above("negative_count", "inbound_count", "negative messages not above inbound messages"),
        ),
        numeric=("inbound_count", "negative_count"),
        past_timestamps=("started_at",),
    ),
    MartSpec(
        "dim_members",
        required=("member_key", "first_seen_at", "last_seen_at", "activity_level", "activity_score"),
        keys=(("member_key",),),
        checks=(
            not_above("first_seen_at", "last_seen_at", "first seen not after last seen"),
            non_negative("messages", "messages non-negative"),
            non_negative("comments", "comments non-negative"),
            non_negative("activity_score", "activity score non-negative"),
            not_above("activity_score", "lifetime_activity_score", "recent activity not above lifetime activity"),
            between("avg_sentiment_score", "average sentiment within [-1, 1]", min_value=-1, max_value=1),
            in_set("activity_level", MEMBER_LEVELS, "level is observer, participant, fan or ambassador"),
        ),
        numeric=("activity_score",),
        past_timestamps=("first_seen_at", "last_seen_at"),
    ),
    MartSpec(
        "fct_trending_terms",
        required=("trend_key", "period_start", "period", "term", "mentions", "authors", "score", "trend"),
        keys=(("trend_key",),),
        checks=(
            in_set("period", ("day", "week"), "period is day or week"),
            in_set("trend", ("emerging", "rising", "stable", "falling"),
                   "trend is emerging, rising, stable or falling"),
            not_null("term", "term set"),
            non_negative("authors", "authors non-negative"),
            not_above("authors", "mentions", "members not above mentions"),
            not_above("negative_mentions", "mentions", "negative mentions not above mentions"),
            non_negative("baseline_mentions", "baseline mentions non-negative"),
            between("negative_share", "negative share within [0, 1]", **RATE),
        ),
        numeric=("mentions", "authors", "baseline_mentions", "score"),
        past_timestamps=("period_start",),
    ),
)  # fmt: skip


def mart_suite(spec: MartSpec, columns: dict[str, str], *, now: dt.datetime, tolerance_minutes: int) -> Suite:
    """Checks on one mart. `columns`: its columns in the warehouse, name -> DuckDB type."""
    suite = Suite(
        f"marts.{spec.name}", "marts", spec.name, [], holds=HELD_KINDS_BY_MART.get(spec.name, frozenset())
    )
    present = set(columns)
    suite.checks.extend(exists(c) for c in spec.required)
    key = next((k for k in spec.keys if set(k) <= present), None)
    if key:
        suite.checks.append(unique(key, f"{' + '.join(key)} unique (key)"))
        suite.checks.extend(not_null(k, f"{k} not empty (key)") for k in key)
    else:
        suite.notes.append(f"no key column found (looked for {' | '.join('+'.join(k) for k in spec.keys)})")
    for col in spec.numeric:
        if col in present:
            suite.checks.append(of_types(col, NUMERIC_TYPES, f"{col} is a number"))
    limit = future_limit(now, tolerance_minutes)
    for col in spec.past_timestamps:
        if col in present and columns[col].upper().startswith(("TIMESTAMP", "DATE")):
            suite.checks.append(between(col, f"{col} not in the future", max_value=limit))
    skipped = []
    for check in spec.checks:
        absent = set(check.needs) - present
        if not absent:
            suite.checks.append(check)
        elif absent - set(spec.required):  # an absent required column already fails its presence check
            skipped.append(check.label)
    if skipped:
        suite.notes.append("skipped (columns absent): " + "; ".join(skipped))
    return suite
