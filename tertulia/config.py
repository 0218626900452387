"""`community.yml`: the one configuration file, validated on load.

Every section is a pydantic model with `extra="forbid"`, so a misspelt key is an error naming the key
instead of a silently ignored setting.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tertulia.contract import CHANNELS, PLATFORMS

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class ConfigError(ValueError):
    """community.yml is missing, unreadable or invalid; the message says which key and why."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Community(_Model):
    name: str
    timezone: str = "UTC"
    languages: list[str] = Field(default_factory=lambda: ["es", "en"])

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {v!r}; use an IANA name such as 'America/Guayaquil'") from exc
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
            raise ValueError(f"unknown platform {v!r}; expected one of {', '.join(PLATFORMS)}")
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
                raise ValueError(f"unknown weekday {day!r}; use {', '.join(WEEKDAYS)}")
            for span in spans:
                m = _HOURS.match(span)
                if not m or (m.group(1), m.group(2)) >= (m.group(3), m.group(4)):
                    raise ValueError(f"{day}: {span!r} is not an opening span like '09:00-18:00'")
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
        for c in v or []:
            if c not in CHANNELS:
                raise ValueError(f"unknown channel {c!r}; expected one of {', '.join(CHANNELS)}")
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


class PostTurningNegative(_Model):
    window_hours: int = Field(3, ge=1)
    min_negative: int = Field(6, ge=1)


class Crisis(_Model):
    keywords: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "es": ["estafa", "reembolso", "boicot", "intoxicación", "denuncia", "fraude"],
            "en": ["scam", "refund", "boycott", "recall", "lawsuit", "fraud"],
        }
    )
    min_keyword_hits: int = Field(3, ge=1)
    volume_spike: VolumeSpike = Field(default_factory=VolumeSpike)
    negative_share: NegativeShare = Field(default_factory=NegativeShare)
    post_turning_negative: PostTurningNegative = Field(default_factory=PostTurningNegative)
    # An incident ends after this many quiet hours, and the same signal does not reopen within the cooldown.
    end_after_quiet_hours: int = Field(3, ge=1)
    cooldown_hours: int = Field(6, ge=0)


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
    account_id: str | None = None


class QuietHours(_Model):
    start: str = "21:00"
    end: str = "08:00"
    # Alerts below this severity wait until the quiet hours end.
    hold_below: Literal["info", "warning", "critical"] = "warning"

    @field_validator("start", "end")
    @classmethod
    def _hh_mm(cls, v: str) -> str:
        if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", v):
            raise ValueError(f"{v!r} is not a time like '21:00' (24-hour HH:MM, community timezone)")
        return v


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


class MemberLevels(_Model):
    """Orbit-style levels: activity weights, a recent window for 'love', and thresholds."""

    weights: dict[str, float] = Field(
        default_factory=lambda: {"comment": 1.0, "reply": 1.5, "mention": 2.0, "dm": 0.5, "review": 3.0}
    )
    love_window_days: int = Field(90, ge=1)
    participant_min: float = 1.0
    fan_min: float = 10.0
    ambassador_min: float = 30.0
    churn_risk_days: int = Field(30, ge=1)


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
    publish_dir: Path = Path("data/published")
    # Hours of event time the crisis signals recompute on each run, and the age beyond which an SLA
    # breach is history rather than news (not alerted).
    lookback_hours: int = Field(72, ge=0)
    # Incremental models re-read what landed since their last build, less this margin. Landing times
    # are stamped by the pipeline under its writer lock and only grow; the margin covers a clock step.
    reload_margin_minutes: int = Field(15, ge=0)


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


class ConnectorSource(_Model):
    """One live source; credentials are named here and read from the environment or a Secret block."""

    model_config = ConfigDict(extra="allow", frozen=True)
    platform: str
    enabled: bool = True
    lookback_days: int = Field(3, ge=0)
    max_pages_per_run: int = Field(50, ge=1)
    base_url: str | None = None


class Config(_Model):
    community: Community
    accounts: list[Account] = Field(default_factory=list)
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    sla: Sla = Field(default_factory=Sla)
    crisis: Crisis = Field(default_factory=Crisis)
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
    def _unique_accounts(self) -> Config:
        seen = set()
        for a in self.accounts:
            k = (a.platform, a.account_id)
            if k in seen:
                raise ValueError(f"account {a.platform}:{a.account_id} is listed twice under accounts")
            seen.add(k)
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.community.timezone)

    def resolve(self, p: Path | str) -> Path:
        p = Path(p)
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    @property
    def warehouse_path(self) -> Path:
        env = os.environ.get("TERTULIA_WAREHOUSE")
        return Path(env).resolve() if env else self.resolve(self.warehouse.path)

    @property
    def publish_dir(self) -> Path:
        return self.resolve(self.warehouse.publish_dir)

    def channel_for(self, kind: str, severity: str | None = None) -> str | None:
        if severity and f"{kind}:{severity}" in self.slack.channel_overrides:
            return self.slack.channel_overrides[f"{kind}:{severity}"]
        return self.slack.channels.get(kind)


def _format_errors(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: {exc.error_count()} problem(s) in the configuration:"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling against community.example.yml)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"  - {key}: {msg}")
    return "\n".join(lines)


def parse_config(
    data: dict[str, Any], *, source: Path = Path("community.yml"), base_dir: Path | None = None
) -> Config:
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: expected a mapping of sections at the top level, got {type(data).__name__}"
        )
    try:
        return Config.model_validate({**data, "base_dir": base_dir or source.parent})
    except ValidationError as exc:
        raise ConfigError(_format_errors(source, exc)) from None


EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "community.example.yml"


def example_config_in(workdir: Path, example: Path = EXAMPLE_CONFIG) -> Config:
    """The shipped example with its warehouse, published marts and bundle moved under `workdir`.

    What tests, benchmarks and evaluations run on, so none of them touches the project's own data/.
    """
    workdir = Path(workdir).resolve()  # parse_config resolves relative paths against base_dir=workdir
    data = yaml.safe_load(example.read_text(encoding="utf-8"))
    data["warehouse"] = {
        **data.get("warehouse", {}),
        "path": str(workdir / "warehouse.duckdb"),
        "publish_dir": str(workdir / "published"),
    }
    data["bundle_dir"] = str(workdir / "bundle")
    return parse_config(data, source=example, base_dir=workdir)


def load_config(path: Path | str) -> Config:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such file; copy community.example.yml to start one")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(data or {}, source=path, base_dir=path.resolve().parent)
