"""Crisis alerts from `marts.fct_crisis_incidents`: opened, escalated, grown, resolved.

The mart holds one incident per account and signal; a crisis usually fires several signals at once
(volume, keywords, a post turning negative). The comms team wants one conversation per crisis, so
the incidents of one account that overlap in time, or start again within `cooldown_hours` of the
previous end, form an *episode* with one Slack thread:

- the root alert at the episode's first hour of severity warning or more (a single busy hour, a
  `watch`, stays in the mart and the summary: alerting on every giveaway would teach people to
  ignore the channel);
- an update in the thread for each severity step reached later and each signal that joins later;
- a resolved note (`resolves=True`) once every incident of the episode has ended.

Community-wide incidents (platform 'all') are alerted only when no account's incident overlaps them:
they catch a crisis spread thin over several accounts, and would otherwise repeat every account alert.
Dedupe keys name the episode and the step, never the run, so each message goes out once. An episode
that was over before the alert look-back (`alerts.rules.news_window`, the SLA rule's limit) is history:
no alert, so a first run over months of data does not announce and close old crises in one go.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from alerts.model import Alert, Link
from alerts.render import local_time
from alerts.rules import news_window
from tertulia.clock import local_span
from tertulia.config import Config
from tertulia.warehouse import table_exists

MEMBER_TEXT_CHARS = 280
TOP_COMMENTS = 3
MAX_POSTS = 3
SEVERITY_OF = {"watch": "info", "warning": "warning", "critical": "critical"}
RANK = {"watch": 1, "warning": 2, "critical": 3}
SIGNAL_NAMES = {
    "volume_spike": "volume spike",
    "negative_share": "negative share",
    "crisis_keywords": "crisis keywords",
    "post_turning_negative": "post turning negative",
}

_INCIDENT_COLUMNS = (
    "incident_id, platform, account_id, signal, started_at, last_fired_at, peak_severity, peak_observed, "
    "peak_baseline, peak_ratio, inbound_count, negative_count, post_keys, top_keywords"
)


@dataclass
class Incident:
    incident_id: str
    platform: str
    account_id: str
    signal: str
    started_at: dt.datetime
    last_fired_at: dt.datetime
    peak_severity: str
    peak_observed: float
    peak_baseline: float | None
    peak_ratio: float
    inbound_count: int = 0
    negative_count: int = 0
    post_keys: str | None = None
    top_keywords: str | None = None


@dataclass
class Episode:
    platform: str
    account_id: str
    incidents: list[Incident] = field(default_factory=list)
    # First hour whose combined severity is warning or more, and that severity (from the signals
    # mart); when unknown, the start and peak of the first incident that peaked at warning or more.
    alert_at: dt.datetime | None = None
    first_severity: str | None = None

    @property
    def episode_id(self) -> str:
        return self.incidents[0].incident_id

    @property
    def started_at(self) -> dt.datetime:
        return self.incidents[0].started_at

    @property
    def last_fired_at(self) -> dt.datetime:
        return max(i.last_fired_at for i in self.incidents)

    @property
    def peak_severity(self) -> str:
        return max((i.peak_severity for i in self.incidents), key=lambda s: RANK.get(s, 0))

    def alert_start(self) -> tuple[dt.datetime, str] | None:
        """(when, severity) the episode first called for an alert; None if it never reached warning."""
        if self.alert_at is not None and self.first_severity in ("warning", "critical"):
            return self.alert_at, self.first_severity
        serious = [i for i in self.incidents if RANK.get(i.peak_severity, 0) >= RANK["warning"]]
        if not serious:
            return None
        first = min(serious, key=lambda i: i.started_at)
        return first.started_at, first.peak_severity


def _overlaps(a_start: dt.datetime, a_end: dt.datetime, b_start: dt.datetime, b_end: dt.datetime) -> bool:
    return a_start < b_end and b_start < a_end


def group_episodes(incidents: list[Incident], *, quiet_hours: int, cooldown_hours: int) -> list[Episode]:
    """Incidents of one account that overlap, or restart within the cooldown, form one episode."""
    quiet = dt.timedelta(hours=quiet_hours)
    cooldown = dt.timedelta(hours=cooldown_hours)
    episodes: list[Episode] = []
    current: dict[tuple[str, str], Episode] = {}
    for inc in sorted(incidents, key=lambda i: (i.started_at, i.signal, i.incident_id)):
        key = (inc.platform, inc.account_id)
        ep = current.get(key)
        if ep is not None and inc.started_at < ep.last_fired_at + quiet + cooldown:
            ep.incidents.append(inc)
            continue
        ep = Episode(inc.platform, inc.account_id, [inc])
        current[key] = ep
        episodes.append(ep)
    account_episodes = [e for e in episodes if e.platform != "all"]
    kept = []
    for e in episodes:
        if e.platform == "all" and any(
            _overlaps(e.started_at, e.last_fired_at + quiet, a.started_at, a.last_fired_at + quiet)
            for a in account_episodes
        ):
            continue
        kept.append(e)
    return kept


def describe(inc: Incident, config: Config) -> str:
    c = config.crisis
    obs, base, ratio = inc.peak_observed, inc.peak_baseline or 0.0, inc.peak_ratio
    if inc.signal == "volume_spike":
        return f"{obs:.0f} messages in one hour vs {base:.0f} usual at that hour (×{ratio:.1f})"
    if inc.signal == "negative_share":
        return f"{obs:.0%} negative over {c.negative_share.window_hours} h vs {base:.0%} usual (×{ratio:.1f})"
    if inc.signal == "crisis_keywords":
        return (
            f"{obs:.0f} messages with crisis keywords in {c.post_turning_negative.window_hours} h "
            f"vs {base:.1f} usual"
        )
    return f"{obs:.0f} negative comments on one post in {c.post_turning_negative.window_hours} h (usual {base:.0f})"


def _truncate(text: str) -> str:
    return text if len(text) <= MEMBER_TEXT_CHARS else text[: MEMBER_TEXT_CHARS - 1] + "…"


def _account_label(config: Config, platform: str, account_id: str) -> tuple[str, str | None]:
    if platform == "all":
        return "the whole community", None
    for a in config.accounts:
        if a.platform == platform and a.account_id == account_id:
            return f"{platform} {a.handle or a.name or account_id}", a.owner
    return f"{platform} {account_id}", None


def is_history(ep: Episode, config: Config, now: dt.datetime) -> bool:
    """True when the episode was over (quiet for `end_after_quiet_hours`) before the alert look-back."""
    ended = ep.last_fired_at + dt.timedelta(hours=config.crisis.end_after_quiet_hours)
    return ended < now - news_window(config)


def episode_alerts(
    ep: Episode,
    config: Config,
    now: dt.datetime,
    *,
    comments: Sequence[str] = (),
    permalinks: dict[str, str] | None = None,
) -> list[Alert]:
    """The alerts an episode calls for as of `now`; the outbox sends each dedupe key once."""
    quiet = dt.timedelta(hours=config.crisis.end_after_quiet_hours)
    if is_history(ep, config, now):
        return []
    start = ep.alert_start()
    if start is None or start[0] > now:
        return []
    alert_at, first_sev = start
    seen = [i for i in ep.incidents if i.started_at <= now]
    label, owner = _account_label(config, ep.platform, ep.account_id)
    thread = f"crisis:{ep.episode_id}"
    first_hour = [i for i in seen if i.started_at <= alert_at < i.last_fired_at] or [
        i for i in seen if i.started_at == alert_at
    ]
    later = [i for i in seen if i.started_at > alert_at]
    keywords = sorted({k for i in seen for k in (i.top_keywords or "").split(",") if k})
    post_keys = list(dict.fromkeys(k for i in seen for k in (i.post_keys or "").split(",") if k))[:MAX_POSTS]
    links = tuple(
        Link(f"Post {k.split(':', 1)[1]}", (permalinks or {})[k], platform=k.split(":", 1)[0])
        for k in post_keys
        if (permalinks or {}).get(k)
    )
    member_text = tuple(_truncate(t) for t in comments[:TOP_COMMENTS] if t)
    messages = max(i.inbound_count for i in seen)
    negatives = max(i.negative_count for i in seen)

    def facts(incs: list[Incident]) -> tuple[tuple[str, str], ...]:
        out = [("Account", label)]
        out += [(SIGNAL_NAMES.get(i.signal, i.signal).capitalize(), describe(i, config)) for i in incs]
        out.append(("Messages", f"{messages} inbound, {negatives} negative"))
        if keywords:
            out.append(("Keywords", ", ".join(keywords)))
        if post_keys:
            out.append(("Posts", ", ".join(post_keys)))
        out.append(("Started", local_time(ep.started_at, config.tz)))
        return tuple(out)

    common: dict[str, Any] = {
        "kind": "crisis",
        "member_text": member_text,
        "links": links,
        "owner": owner,
        "thread_key": thread,
    }
    signals_first = ", ".join(SIGNAL_NAMES.get(i.signal, i.signal) for i in first_hour)
    alerts = [
        Alert(
            severity=SEVERITY_OF[first_sev],
            dedupe_key=f"{thread}:open",
            title=f"Possible crisis on {label}: {signals_first}",
            facts=facts(first_hour),
            occurred_at=alert_at,
            reason=f"{signals_first} fired (severity {first_sev})",
            **common,
        )
    ]
    for inc in sorted(later, key=lambda i: i.started_at):
        name = SIGNAL_NAMES.get(inc.signal, inc.signal)
        alerts.append(
            Alert(
                severity=SEVERITY_OF.get(inc.peak_severity, "info"),  # type: ignore[arg-type]
                dedupe_key=f"{thread}:signal:{inc.incident_id}",
                title=f"Crisis on {label} growing: {name} now firing too",
                facts=facts([inc]),
                occurred_at=inc.started_at,
                reason=f"{name} fired at {local_time(inc.started_at, config.tz)}",
                **common,
            )
        )
    peak = max((i.peak_severity for i in seen), key=lambda s: RANK.get(s, 0))
    for step in ("warning", "critical"):
        if RANK[first_sev] < RANK[step] <= RANK.get(peak, 0):
            alerts.append(
                Alert(
                    severity=SEVERITY_OF[step],  # type: ignore[arg-type]
                    dedupe_key=f"{thread}:severity:{step}",
                    title=f"Crisis on {label} escalated to {step}",
                    facts=facts(seen),
                    occurred_at=max(i.started_at for i in seen),
                    reason=f"severity reached {step}",
                    **common,
                )
            )
    if all(i.last_fired_at + quiet <= now for i in seen) and len(seen) == len(ep.incidents):
        ended = ep.last_fired_at + quiet
        alerts.append(
            Alert(
                kind="crisis",
                severity="info",
                dedupe_key=f"{thread}:resolved",
                title=f"Crisis on {label} is over",
                facts=(
                    ("Account", label),
                    ("Lasted", local_span(ep.started_at, ep.last_fired_at, config.tz)),
                    ("Peak severity", peak),
                    ("Messages", f"{messages} inbound, {negatives} negative"),
                ),
                thread_key=thread,
                occurred_at=ended,
                reason=f"no signal for {config.crisis.end_after_quiet_hours} h",
                resolves=True,
                owner=owner,
            )
        )
    return alerts


def load_incidents(con: duckdb.DuckDBPyConnection, now: dt.datetime) -> list[Incident]:
    rows = con.execute(
        f"select {_INCIDENT_COLUMNS} from marts.fct_crisis_incidents where started_at <= ? order by started_at",  # noqa: S608 (column list is a constant)
        [now],
    ).fetchall()
    names = [c.strip() for c in _INCIDENT_COLUMNS.split(",")]
    return [Incident(**dict(zip(names, r, strict=True))) for r in rows]


def _first_alert_hours(con: duckdb.DuckDBPyConnection, episodes: list[Episode]) -> None:
    """Set each episode's first hour of warning or more from the signals mart, in one query."""
    if not episodes:
        return
    rows = con.execute(
        """
        select platform, account_id, hour_at, severity from marts.fct_crisis_signals
        where hour_at >= ? and severity in ('warning', 'critical')
        order by hour_at
        """,
        [min(ep.started_at for ep in episodes)],
    ).fetchall()
    hours: dict[tuple[str, str], list[tuple[dt.datetime, str]]] = {}
    for platform, account_id, hour_at, severity in rows:
        hours.setdefault((platform, account_id), []).append((hour_at, severity))
    for ep in episodes:
        for hour_at, severity in hours.get((ep.platform, ep.account_id), ()):
            if hour_at >= ep.last_fired_at:
                break
            if hour_at >= ep.started_at:
                ep.alert_at, ep.first_severity = hour_at, severity
                break


def _top_negative_comments(con: duckdb.DuckDBPyConnection, ep: Episode, until: dt.datetime) -> list[str]:
    if not table_exists(con, "intermediate", "int_crisis_comments"):
        return []
    rows = con.execute(
        """
        select sc.message
        from intermediate.int_crisis_comments as ic
        join staging.stg_social__comments as sc on sc.platform = ic.platform and sc.comment_id = ic.comment_id
        where ic.is_negative and ic.created_at >= ? and ic.created_at < ?
          and (? = 'all' or (ic.platform = ? and ic.account_id = ?))
          and sc.message is not null
        order by ic.sentiment_score, coalesce(sc.like_count, 0) desc, ic.created_at
        limit ?
        """,
        [ep.started_at, until, ep.platform, ep.platform, ep.account_id, TOP_COMMENTS],
    ).fetchall()
    return [r[0] for r in rows]


def _permalinks(con: duckdb.DuckDBPyConnection, keys: list[str]) -> dict[str, str]:
    if not keys or not table_exists(con, "staging", "stg_social__posts"):
        return {}
    rows = con.execute(
        "select platform || ':' || post_id, permalink from staging.stg_social__posts "
        "where platform || ':' || post_id in (select unnest(?::varchar[])) and permalink is not null",
        [keys],
    ).fetchall()
    return dict(rows)


def crisis_alerts(con: duckdb.DuckDBPyConnection, config: Config, now: dt.datetime) -> list[Alert]:
    """Alerts for every crisis episode seen as of `now`; [] when the crisis marts are not built."""
    if not table_exists(con, "marts", "fct_crisis_incidents"):
        return []
    incidents = load_incidents(con, now)
    episodes = group_episodes(
        incidents,
        quiet_hours=config.crisis.end_after_quiet_hours,
        cooldown_hours=config.crisis.cooldown_hours,
    )
    # Old episodes are grouped with the rest (so an episode keeps its first incident, hence its keys),
    # then dropped before any look-up.
    episodes = [ep for ep in episodes if not is_history(ep, config, now)]
    _first_alert_hours(con, episodes)
    # An episode whose every alert is already in the outbox has nothing new to say: skip the look-ups
    # of its member comments and post links (the outbox would drop its alerts anyway), so the rule
    # costs the episodes still moving, not every episode of history.
    bare = {id(ep): episode_alerts(ep, config, now) for ep in episodes}
    known: set[str] = set()
    if table_exists(con, "tertulia", "alert_outbox"):
        from alerts.outbox import enqueued_keys

        known = enqueued_keys(con, [a.dedupe_key for alerts in bare.values() for a in alerts])
    out: list[Alert] = []
    for ep in episodes:
        if all(a.dedupe_key in known for a in bare[id(ep)]):
            continue
        until = min(now, ep.last_fired_at)
        keys = [k for i in ep.incidents for k in (i.post_keys or "").split(",") if k]
        out.extend(
            episode_alerts(
                ep,
                config,
                now,
                comments=_top_negative_comments(con, ep, until),
                permalinks=_permalinks(con, keys),
            )
        )
    return out
