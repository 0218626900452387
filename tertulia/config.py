"""`community.yml`: the one configuration file, validated on load.

Every section is a pydantic model with `extra="forbid"`, so a misspelt key is an error naming the key
instead of a silently ignored setting. Keys of maps are checked too, each against the one list that
defines it: alert kinds, severities and languages (tertulia.vocabulary), channels and platforms
(tertulia.contract), a live source's settings (its connector's declaration), and goals and
SLA policies may only name accounts listed under `accounts:`. Each message names the key path, the
line in the file and the nearest valid key.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tertulia.config_yaml import KeyPath, YamlRefused, line_of, read_yaml
from tertulia.contract import CHANNELS, PLATFORMS
from tertulia.vocabulary import ALERT_KINDS, LANGUAGES, SEVERITIES, Severity

if TYPE_CHECKING:
    from tertulia.warehouse import PostgresWarehouse

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class ConfigError(ValueError):
    """community.yml is missing, unreadable or invalid; the message says which key and why."""


class KeyProblems(ValueError):
    """Problems below the key a validator checks, each with the path under it and a message.

    Pydantic places a validator's error at the field it validates; raising this instead lets the
    message name the exact map key or list item (and so its line), e.g. `slack.channels.crisiss`.
    """

    def __init__(self, problems: list[tuple[KeyPath, str]]) -> None:
        super().__init__("; ".join(msg for _, msg in problems))
        self.problems = problems


def _hint(value: object, valid: Iterable[str], *, list_valid: bool = True) -> str:
    """ "; did you mean `y`?" for the nearest valid value, and the valid values when few enough to read."""
    options = [str(v) for v in valid]
    close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.6)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    if list_valid:
        listed = ", ".join(options) or "none"
        hint += f" (expected one of: {listed})" if close else f"; expected one of: {listed}"
    return hint


def unknown(what: str, value: object, valid: Iterable[str], *, list_valid: bool = True) -> str:
    """ "unknown <what> 'x'; did you mean `y`? (expected one of: ...)"."""
    return f"unknown {what} {value!r}" + _hint(value, valid, list_valid=list_valid)


def _check_keys(keys: Iterable[str], what: str, valid: Iterable[str]) -> None:
    valid = tuple(valid)
    bad = [((k,), unknown(what, k, valid)) for k in keys if k not in valid]
    if bad:
        raise KeyProblems(bad)


def _check_items(items: Iterable[str] | None, what: str, valid: Iterable[str]) -> None:
    valid = tuple(valid)
    bad = [((i,), unknown(what, v, valid)) for i, v in enumerate(items or ()) if v not in valid]
    if bad:
        raise KeyProblems(bad)


@functools.cache
def known_timezones() -> frozenset[str]:
    """IANA names both Python and DuckDB (which parses every timestamp in staging) can load.

    Python's list also holds `localtime`, the system folder's link to the machine's zone: DuckDB has no
    such zone, so it would pass here and then fail every file.
    """
    import duckdb

    con = duckdb.connect()
    try:
        duck = {r[0] for r in con.execute("select name from pg_timezone_names()").fetchall()}
    finally:
        con.close()
    return frozenset(available_timezones() & duck)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Community(_Model):
    name: str
    timezone: str = "UTC"
    languages: list[str] = Field(default_factory=lambda: ["es", "en"])

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        valid = v in known_timezones()
        if valid:
            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError):
                valid = False
        if not valid:
            if v == "localtime":
                raise ValueError(
                    "'localtime' is whatever zone the machine runs in, not a zone name: write the "
                    "community's own IANA name, such as 'America/Guayaquil'"
                )
            close = difflib.get_close_matches(v, sorted(known_timezones()), n=1, cutoff=0.8)
            hint = f"did you mean `{close[0]}`?" if close else "use an IANA name such as 'America/Guayaquil'"
            raise ValueError(f"unknown timezone {v!r}; {hint}")
        return v

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, v: list[str]) -> list[str]:
        _check_items(v, "language", LANGUAGES)
        return v


class Account(_Model):
    platform: str
    account_id: str
    handle: str | None = None
    name: str | None = None
    owner: str | None = None  # team member_id who owns this account's conversations

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, v: str) -> str:
        if v not in PLATFORMS:
            raise ValueError(unknown("platform", v, PLATFORMS))
        return v


class BusinessHours(_Model):
    """Opening hours per weekday in the community's timezone; a day left out is closed."""

    weekly: dict[str, list[str]] = Field(
        default_factory=lambda: {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    )
    holidays_country: str | None = None
    holidays_subdivision: str | None = None
    extra_holidays: list[dt.date] = Field(default_factory=list)

    @field_validator("weekly")
    @classmethod
    def _valid_hours(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, spans in v.items():
            if day not in WEEKDAYS:
                raise KeyProblems([((day,), unknown("weekday", day, WEEKDAYS))])
            for i, span in enumerate(spans):
                m = _HOURS.match(span)
                if not m or (m.group(1), m.group(2)) >= (m.group(3), m.group(4)):
                    raise KeyProblems(
                        [((day, i), f"{day}: {span!r} is not an opening span like '09:00-18:00'")]
                    )
        return v

    @field_validator("holidays_country")
    @classmethod
    def _known_country(cls, v: str | None) -> str | None:
        if v is None:
            return v
        import holidays

        if v not in holidays.list_supported_countries():
            raise ValueError(
                f"holidays has no calendar for country {v!r}; use an ISO code such as 'EC' or 'ES'"
            )
        return v


class SlaMatch(_Model):
    platform: list[str] | None = None
    channel: list[str] | None = None
    account_id: list[str] | None = None
    priority: list[Literal["high", "normal", "low"]] | None = None
    intent: list[Literal["question", "complaint", "praise", "spam", "other"]] | None = None

    @field_validator("channel")
    @classmethod
    def _known_channel(cls, v: list[str] | None) -> list[str] | None:
        _check_items(v, "channel", CHANNELS)
        return v

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, v: list[str] | None, info: ValidationInfo) -> list[str] | None:
        # A policy version recorded before this check (tertulia.sla_policies) is read back as it was.
        if not (info.context or {}).get("recorded"):
            _check_items(v, "platform", PLATFORMS)
        return v


class SlaPolicy(_Model):
    name: str
    match: SlaMatch = Field(default_factory=SlaMatch)
    target_minutes: int = Field(gt=0)
    business_time: bool = True


class Sla(_Model):
    at_risk_share: float = Field(0.75, gt=0, lt=1)
    # More breaches than this in one run are sent as one digest message instead of one each.
    max_individual_breach_alerts: int = Field(5, ge=1)
    policies: list[SlaPolicy] = Field(
        default_factory=lambda: [SlaPolicy(name="default", target_minutes=480, business_time=True)]
    )

    @field_validator("policies")
    @classmethod
    def _unique_names(cls, v: list[SlaPolicy]) -> list[SlaPolicy]:
        names = [p.name for p in v]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"policy names must be unique; repeated: {', '.join(sorted(dupes))}")
        if not v:
            raise ValueError("at least one SLA policy is needed (a last one with no match catches the rest)")
        return v


class VolumeSpike(_Model):
    baseline_weeks: int = Field(4, ge=1)
    min_count: int = Field(8, ge=1)
    min_ratio: float = Field(3.0, gt=1)
    min_z: float = Field(3.5, gt=0)


class NegativeShare(_Model):
    window_hours: int = Field(24, ge=1)
    baseline_days: int = Field(14, ge=1)
    min_count: int = Field(5, ge=1)
    min_share: float = Field(0.4, gt=0, le=1)
    min_ratio: float = Field(1.8, gt=1)
    # The baseline share never counts as lower than this, so one negative comment in a quiet fortnight
    # does not make every later negative an infinite ratio (docs/crisis.md, "Floors").
    baseline_floor: float = Field(0.05, gt=0, lt=1)


class PostTurningNegative(_Model):
    window_hours: int = Field(3, ge=1)
    min_negative: int = Field(6, ge=1)
    # Times the post's baseline (at least 1) its negatives in the window must reach.
    min_ratio: float = Field(2.0, gt=1)


class Crisis(_Model):
    keywords: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "es": ["estafa", "reembolso", "boicot", "intoxicación", "denuncia", "fraude"],
            "en": ["scam", "refund", "boycott", "recall", "lawsuit", "fraud"],
        }
    )
    min_keyword_hits: int = Field(3, ge=1)
    # Times the keyword baseline (at least 0.5 a window) the keyword messages in the window must reach.
    min_keyword_ratio: float = Field(2.0, gt=1)
    volume_spike: VolumeSpike = Field(default_factory=VolumeSpike)
    negative_share: NegativeShare = Field(default_factory=NegativeShare)
    post_turning_negative: PostTurningNegative = Field(default_factory=PostTurningNegative)
    # An incident ends after this many quiet hours, and the same signal does not reopen within the cooldown.
    end_after_quiet_hours: int = Field(3, ge=1)
    cooldown_hours: int = Field(6, ge=0)

    @field_validator("keywords")
    @classmethod
    def _known_languages(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        _check_keys(v, "language", LANGUAGES)
        return v


class Goal(_Model):
    name: str
    metric: Literal[
        "engagement_rate",
        "follower_growth",
        "median_business_response_minutes",
        "response_rate",
        "posts_published",
        "sla_met_share",
    ]
    target: float
    period: Literal["week", "month", "quarter"] = "month"
    direction: Literal["at_least", "at_most"] = "at_least"
    platform: str | None = None
    account_id: str | None = None  # checked against `accounts:` by Config

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, v: str | None) -> str | None:
        if v is not None and v not in PLATFORMS:
            raise ValueError(unknown("platform", v, PLATFORMS))
        return v


class TrendAlert(_Model):
    """When an emerging term becomes a Slack alert of kind `trend` (alerts/trend_rules.py)."""

    # Distinct members using the term in the day, its score, and the share of its messages that are negative.
    min_authors: int = Field(5, ge=1)
    min_score: float = Field(3.0, gt=0)
    min_negative_share: float = Field(0.6, ge=0, le=1)


class Trends(_Model):
    """Trending terms (marts.fct_trending_terms, docs/trends.md)."""

    # A term needs this many distinct members in the period (or in its baseline) to be scored.
    min_authors: int = Field(3, ge=1)
    # The baseline a period is compared with: this many periods just before it.
    baseline_periods: int = Field(4, ge=1)
    # |score| (a z-score) from which a term is rising or falling.
    min_score: float = Field(1.96, gt=0)
    # Weight of the score's prior (the pooled counts of the period and its baseline) against the data:
    # larger damps rare terms more (docs/trends.md).
    prior_weight: float = Field(0.1, gt=0)
    alert: TrendAlert = Field(default_factory=TrendAlert)


class QuietHours(_Model):
    start: str = "21:00"
    end: str = "08:00"
    # Alerts below this severity wait until the quiet hours end.
    hold_below: Severity = "warning"

    @field_validator("start", "end")
    @classmethod
    def _hh_mm(cls, v: str) -> str:
        if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", v):
            raise ValueError(f"{v!r} is not a time like '21:00' (24-hour HH:MM, community timezone)")
        return v


# A kind with no channel of its own goes where this kind goes: failed runs (`pipeline`) concern the
# people who look after the data, a term rising fast with negative words (`trend`) the comms team that
# watches crises; so a community.yml written before those kinds existed still routes them.
CHANNEL_FALLBACK = {"pipeline": "data_quality", "trend": "crisis"}


class Slack(_Model):
    token_env: str = "SLACK_BOT_TOKEN"
    token_secret_block: str | None = None  # name of a Prefect Secret block holding the bot token
    webhook_url_env: str = "SLACK_WEBHOOK_URL"
    base_url: str | None = None  # only for tests against a local Slack-compatible server
    channels: dict[str, str] = Field(
        default_factory=lambda: {
            "crisis": "#comms",
            "sla": "#community-care",
            "data_quality": "#data",
            "digest": "#community",
        }
    )
    # Overrides per kind and severity, e.g. {"sla:critical": "#care-leads"}.
    channel_overrides: dict[str, str] = Field(default_factory=dict)
    quiet_hours: QuietHours | None = Field(default_factory=QuietHours)
    cooldown_minutes: dict[str, int] = Field(
        default_factory=lambda: {"crisis": 60, "sla": 0, "data_quality": 120, "digest": 0}
    )
    seconds_per_message_per_channel: float = Field(1.0, ge=0)
    # Local time from which yesterday's digest is due: the daily-digest job runs then, and any later
    # alert run that finds it unsent sends it (once).
    digest_at: dt.time = dt.time(8, 30)
    # Flood control for digest groups other than "sla_breach" (which uses sla.max_individual_breach_alerts).
    digest_group_limits: dict[str, int] = Field(default_factory=dict)
    # An alert Slack could not take for this long is given up (suppressed as expired), so fixing a
    # token after a week does not flood the channel with stale alerts.
    give_up_after_hours: int = Field(72, ge=1)
    timeout_seconds: float = Field(10.0, gt=0)

    @field_validator("channels", "cooldown_minutes")
    @classmethod
    def _known_kinds(cls, v: dict[str, Any]) -> dict[str, Any]:
        _check_keys(v, "alert kind", ALERT_KINDS)
        return v

    @field_validator("channel_overrides")
    @classmethod
    def _known_kind_severity(cls, v: dict[str, str]) -> dict[str, str]:
        valid = [f"{k}:{s}" for k in ALERT_KINDS for s in SEVERITIES]
        kinds, severities = ", ".join(ALERT_KINDS), ", ".join(SEVERITIES)
        bad = [
            (
                (key,),
                unknown("kind:severity", key, valid, list_valid=False)
                + f" (kinds: {kinds}; severities: {severities})",
            )
            for key in v
            if key not in valid
        ]
        if bad:
            raise KeyProblems(bad)
        return v


class MemberLevels(_Model):
    """Orbit-style levels: activity weights, a recent window for 'love', and thresholds."""

    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "comment": 1.0,
            "reply": 1.5,
            "mention": 2.0,
            "dm": 0.5,
            "review": 3.0,
            "email": 0.5,
        }
    )
    love_window_days: int = Field(90, ge=1)
    participant_min: float = 1.0
    fan_min: float = 10.0
    ambassador_min: float = 30.0
    churn_risk_days: int = Field(30, ge=1)

    @field_validator("weights")
    @classmethod
    def _known_channels(cls, v: dict[str, float]) -> dict[str, float]:
        _check_keys(v, "channel", CHANNELS)
        return v


class Members(_Model):
    levels: MemberLevels = Field(default_factory=MemberLevels)
    pseudonymize: bool = True
    # Environment variable holding the secret for keyed member hashes in published marts.
    hash_secret_env: str = "TERTULIA_MEMBER_SECRET"
    publish_names: bool = False


class Calendar(_Model):
    on_time_tolerance_minutes: int = Field(30, ge=0)


class Warehouse(_Model):
    path: Path = Path("data/warehouse.duckdb")
    # A PostgreSQL warehouse instead of the file (`postgresql://user@host:5432/db`), without its
    # password: that comes from the environment (PGPASSWORD, ~/.pgpass). With a URL, `path`'s folder
    # still holds the local work files (dbt's target and logs, the quality page, the alert spool).
    url: str | None = None
    # Or the name of a Prefect Secret block holding the whole URL, password included (read when used).
    url_secret_block: str | None = None
    publish_dir: Path = Path("data/published")
    # Hours of event time the crisis signals recompute at least on each run (from the earliest changed
    # hour when late data landed), and the age beyond which an SLA breach is history (not alerted).
    lookback_hours: int = Field(72, ge=0)
    # Incremental models re-read what landed since their last build, less this margin. Landing times
    # are stamped by the pipeline under its writer lock and only grow; the margin covers a clock step.
    reload_margin_minutes: int = Field(15, ge=0)

    @field_validator("url")
    @classmethod
    def _url_without_password(cls, v: str | None) -> str | None:
        from tertulia.warehouse import postgres_warehouse

        if v is not None:  # the message's key and line come from _format_errors
            postgres_warehouse(v, where=None, password_allowed=False)
        return v

    @field_validator("path", mode="before")  # as written: Path("postgresql//h") is "postgresql/h"
    @classmethod
    def _a_duckdb_file(cls, v: Any) -> Any:
        from tertulia.warehouse import duckdb_file

        if isinstance(v, str | Path):
            duckdb_file(v, where=None)
        return v


class Quality(_Model):
    """Great Expectations gates (quality/): tolerances and how much each run keeps."""

    # The plausible range of a timestamp, the importer's and the gates' alike (the one home of both
    # bounds): a value more than this past the run's instant (clock skew and mis-zoned exports are
    # allowed for) is quarantined as "future" at import and fails the marts' "not in the future" checks.
    future_tolerance_minutes: int = Field(1440, ge=0)
    # A timestamp or date before this is quarantined at import: 1970-01-01 or 0001-01-01 is a missing
    # value written as a date, and would stretch the business calendar over centuries.
    earliest_timestamp: dt.date = dt.date(2000, 1, 1)
    # Rows read per suite and run; more new rows than this are checked on a repeatable sample.
    max_rows_per_suite: int = Field(200_000, ge=1)
    # How many runs of results `tertulia.dq_results` and the Data Docs keep.
    keep_runs: int = Field(50, ge=1)


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConnectorSource(_Model):
    """One live source; credentials are named here and read from the environment or a Secret block.

    Keys beyond these fields are the platform's own settings (`channel_id`, `page_size`...), which its
    connector declares (connectors.live.LiveConnector.settings): any other key is refused.
    """

    model_config = ConfigDict(extra="allow", frozen=True)
    platform: str
    enabled: bool = True
    lookback_days: int = Field(3, ge=0)
    max_pages_per_run: int = Field(50, ge=1)
    base_url: str | None = None

    @field_validator("platform")
    @classmethod
    def _live_platform(cls, v: str) -> str:
        from connectors.sources import PLATFORM_CONNECTORS  # connectors import this module

        if v not in PLATFORM_CONNECTORS:
            raise ValueError(
                unknown("live source platform", v, sorted(PLATFORM_CONNECTORS))
                + "; file exports of other platforms go through bundle_dir"
            )
        return v

    @model_validator(mode="after")
    def _declared_settings(self) -> ConnectorSource:
        from connectors.sources import connector_class

        cls = connector_class(self.platform)
        accepted = sorted({*cls.setting_keys(), *(k for k in type(self).model_fields)})
        problems: list[tuple[KeyPath, str]] = []
        for key, value in (self.model_extra or {}).items():
            if key in cls.credentials:
                problems.append(
                    ((key,), f"a credential is never written in community.yml: name the environment variable "
                     f"holding it with `{key}_env:` (or a Prefect Secret block with `{key}_secret_block:`)")
                )  # fmt: skip
            elif key not in accepted:
                problems.append(((key,), unknown(f"{self.platform} source setting", key, accepted)))
            elif key.endswith("_env") and value is not None and not _ENV_NAME.match(str(value)):
                # The value itself is never echoed: it may be the secret pasted in the wrong place.
                problems.append(
                    ((key,), "is not an environment variable name (letters, digits, _): put the secret in "
                     "the environment and write the variable's name here")
                )  # fmt: skip
        if problems:
            raise KeyProblems(problems)
        return self


class Config(_Model):
    community: Community
    accounts: list[Account] = Field(default_factory=list)
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    sla: Sla = Field(default_factory=Sla)
    crisis: Crisis = Field(default_factory=Crisis)
    trends: Trends = Field(default_factory=Trends)
    goals: list[Goal] = Field(default_factory=list)
    slack: Slack = Field(default_factory=Slack)
    members: Members = Field(default_factory=Members)
    calendar: Calendar = Field(default_factory=Calendar)
    warehouse: Warehouse = Field(default_factory=Warehouse)
    quality: Quality = Field(default_factory=Quality)
    sources: dict[str, ConnectorSource] = Field(default_factory=dict)
    # Folder the file connector imports from on each run (a bundle directory).
    bundle_dir: Path | None = None

    # Where the file was read from; relative paths in it are resolved against its folder.
    base_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _references(self) -> Config:
        """Accounts are listed once; goals, SLA policies and sources name only listed accounts."""
        problems: list[tuple[KeyPath, str]] = []
        seen = set()
        for i, a in enumerate(self.accounts):
            k = (a.platform, a.account_id)
            if k in seen:
                problems.append(
                    (("accounts", i), f"account {a.platform}:{a.account_id} is listed twice under accounts")
                )
            seen.add(k)
        ids = [a.account_id for a in self.accounts]

        def check_account(path: KeyPath, account_id: str, platform: str | None) -> None:
            if account_id not in ids:
                problems.append((path, f"no account {account_id!r} under accounts:" + _hint(account_id, ids)))
            elif platform and (platform, account_id) not in seen:
                theirs = ", ".join(sorted(p for p, a in seen if a == account_id))
                problems.append((path, f"account {account_id!r} is on {theirs}, not on {platform}"))

        for i, g in enumerate(self.goals):
            if g.account_id is not None:
                check_account(("goals", i, "account_id"), g.account_id, g.platform)
        for i, p in enumerate(self.sla.policies):
            for j, account_id in enumerate(p.match.account_id or ()):
                check_account(("sla", "policies", i, "match", "account_id", j), account_id, None)
        for name, src in self.sources.items():
            account = (src.model_extra or {}).get("account")
            if account is not None:
                check_account(("sources", name, "account"), str(account), src.platform)
        if problems:
            raise KeyProblems(problems)
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.community.timezone)

    def resolve(self, p: Path | str) -> Path:
        p = Path(p)
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    @property
    def warehouse_location(self) -> Path | PostgresWarehouse:
        """The warehouse: a DuckDB file, or a PostgreSQL server when TERTULIA_WAREHOUSE (first), the
        Prefect Secret block `warehouse.url_secret_block` or `warehouse.url` is a postgresql:// URL. Only
        the environment's and the block's URL may carry a password."""
        from tertulia.warehouse import location, postgres_warehouse

        env = os.environ.get("TERTULIA_WAREHOUSE")
        if env:
            return location(env, where="TERTULIA_WAREHOUSE", password_allowed=True)
        if self.warehouse.url_secret_block:
            from tertulia.warehouse import url_from_secret_block

            url = url_from_secret_block(self.warehouse.url_secret_block)
            return postgres_warehouse(url, where="warehouse.url_secret_block", password_allowed=True)
        if self.warehouse.url:
            return postgres_warehouse(self.warehouse.url, where="warehouse.url", password_allowed=False)
        return self.resolve(self.warehouse.path)

    @property
    def on_postgres(self) -> bool:
        return not isinstance(self.warehouse_location, Path)

    @property
    def warehouse_path(self) -> Path:
        """The DuckDB warehouse file, for the steps that run on DuckDB only (NotOnPostgres otherwise)."""
        from tertulia.warehouse import NotOnPostgres

        where = self.warehouse_location
        if not isinstance(where, Path):
            raise NotOnPostgres(
                f"the warehouse is PostgreSQL ({where.shown}); this step runs on a DuckDB warehouse only "
                "so far (docs/operations.md, 'PostgreSQL': what runs there). Run it on a DuckDB "
                "warehouse, then move it with `tertulia migrate --to postgresql://...`"
            )
        return where

    @property
    def local_dir(self) -> Path:
        """The folder of the warehouse's local work files: beside the DuckDB file, or, on PostgreSQL,
        the folder of `warehouse.path` (the server keeps the data; dbt's logs stay on this host)."""
        where = self.warehouse_location
        return where.parent if isinstance(where, Path) else self.resolve(self.warehouse.path).parent

    @property
    def publish_dir(self) -> Path:
        return self.resolve(self.warehouse.publish_dir)

    @property
    def quality_page(self) -> Path:
        """The quality page (quality/page.py), beside the warehouse; GX's Data Docs in its `gx/` subfolder."""
        return self.local_dir / "quality-docs" / "index.html"

    @property
    def dbt_work_dir(self) -> Path:
        """dbt's target and log folders, beside the warehouse file so two warehouses never share them."""
        return self.local_dir / "dbt"

    def channel_for(self, kind: str, severity: str | None = None) -> str | None:
        if severity and f"{kind}:{severity}" in self.slack.channel_overrides:
            return self.slack.channel_overrides[f"{kind}:{severity}"]
        if kind not in self.slack.channels and kind in CHANNEL_FALLBACK:
            return self.channel_for(CHANNEL_FALLBACK[kind], severity)
        return self.slack.channels.get(kind)


def _annotation_at(loc: KeyPath) -> Any:
    """The type the configuration expects at `loc` (a model, dict, list...), or None if it has none."""
    current: Any = Config
    for part in loc:
        origin = get_origin(current)
        if origin in (Union, UnionType):  # `X | None`: the non-None member
            current = next((a for a in get_args(current) if a is not type(None)), None)
            origin = get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif origin is dict:
            current = get_args(current)[1]
        elif origin is list:
            current = get_args(current)[0]
        else:
            return None
    if get_origin(current) in (Union, UnionType):
        current = next((a for a in get_args(current) if a is not type(None)), None)
    return current


def _error_message(loc: KeyPath, err: Mapping[str, Any]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        model = _annotation_at(loc[:-1])
        keys = (
            [n for n, f in model.model_fields.items() if not f.exclude]
            if isinstance(model, type) and issubclass(model, BaseModel)
            else []
        )
        return "unknown key" + _hint(loc[-1], keys)
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        options = get_args(_annotation_at(loc))
        if options:
            return unknown("value", err["input"], options)
    if kind == "value_error":
        return str(err["ctx"]["error"])  # our own message, without pydantic's "Value error, " prefix
    return err["msg"]


def _format_errors(path: Path, problems: list[tuple[KeyPath, str]], lines: Mapping[KeyPath, int]) -> str:
    count = len(problems)
    out = [f"{path}: {count} problem{'s' if count != 1 else ''} in the configuration:"]
    for loc, msg in problems:
        key = ".".join(str(p) for p in loc) or "(top level)"
        line = line_of(lines, loc)
        out.append(f"  - {f'line {line}: ' if line else ''}{key}: {msg}")
    return "\n".join(out)


def _problems(exc: ValidationError) -> list[tuple[KeyPath, str]]:
    problems: list[tuple[KeyPath, str]] = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p != "[key]")
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, KeyProblems):
            problems.extend(((*loc, *sub), msg) for sub, msg in cause.problems)
        else:
            problems.append((loc, _error_message(loc, err)))
    return problems


def parse_config(
    data: dict[str, Any],
    *,
    source: Path = Path("community.yml"),
    base_dir: Path | None = None,
    lines: Mapping[KeyPath, int] | None = None,
) -> Config:
    """Validate the parsed file; `lines` (key path -> line, from config_yaml.read_yaml) places messages."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: expected a mapping of sections at the top level, got {type(data).__name__}"
        )
    try:
        config = Config.model_validate({**data, "base_dir": base_dir or source.parent})
    except ValidationError as exc:
        raise ConfigError(_format_errors(source, _problems(exc), lines or {})) from None
    env = os.environ.get("TERTULIA_WAREHOUSE")
    if env:
        # Checked with the file, so every command stops here with one line, not at its first step.
        from tertulia.warehouse import location

        try:
            location(env, where="TERTULIA_WAREHOUSE", password_allowed=True)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    return config


def _read(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    try:
        doc = read_yaml(path.read_text(encoding="utf-8"), name=str(path))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except YamlRefused as exc:
        raise ConfigError(f"{path}: not read: {exc}") from None
    if doc.duplicates:
        problems = [
            (key, f"written twice (lines {first} and {again}); YAML would keep only the last: remove one")
            for key, first, again in doc.duplicates
        ]
        raise ConfigError(_format_errors(path, problems, {key: again for key, _, again in doc.duplicates}))
    return doc.data, doc.lines


EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "community.example.yml"


def example_config_in(workdir: Path, example: Path = EXAMPLE_CONFIG) -> Config:
    """The shipped example with its warehouse, published marts and bundle moved under `workdir`.

    What tests, benchmarks and evaluations run on, so none of them touches the project's own data/.
    """
    workdir = Path(workdir).resolve()  # parse_config resolves relative paths against base_dir=workdir
    data, lines = _read(example)
    data["warehouse"] = {
        **data.get("warehouse", {}),
        "path": str(workdir / "warehouse.duckdb"),
        "publish_dir": str(workdir / "published"),
    }
    data["bundle_dir"] = str(workdir / "bundle")
    return parse_config(data, source=example, base_dir=workdir, lines=lines)


def load_config(path: Path | str) -> Config:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such file; copy community.example.yml to start one")
    data, lines = _read(path)
    return parse_config(data or {}, source=path, base_dir=path.resolve().parent, lines=lines)
