"""Crisis alerts from `marts.fct_crisis_incidents`: opened, escalated, grown, resolved.

The mart holds one row per crisis (an *episode*) and account: the signal incidents of one account
(`intermediate.int_crisis_signal_incidents`, one per signal and run of firing hours) that overlap, or
start again within `cooldown_hours` of the previous end, merged in SQL (int_crisis_episodes holds the
rule). The comms team wants one conversation per crisis, so each gets one Slack thread:

- the root alert at the crisis's first hour of severity warning or more (a single busy hour, a
  `watch`, stays in the mart and the summary: alerting on every giveaway would teach people to
  ignore the channel);
- an update in the thread for each severity step reached later and for each signal the first time
  it joins (a signal that already fired in the crisis and fires again after a pause says nothing new);
- a resolved note (`resolves=True`) once the crisis has ended; if a signal starts again within the
  cooldown (the same crisis, by the SQL rule), "is back" in the thread (`reopens=True`: delivery
  updates the root, which said "Resolved", to say it re-opened) and a resolved note again later.

Community-wide crises (`marts.fct_crisis_incidents_community`) are alerted only when no account's crisis
overlaps them: they catch a crisis spread thin over several accounts, and would otherwise repeat every
account alert. Dedupe keys name the crisis and the step, never the run, so each message goes out once.
A crisis that was over before the alert look-back (`alerts.rules.news_window`, the SLA rule's limit) is
history: no alert, so a first run over months of data does not announce and close old crises in one go.
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

_SIGNAL_COLUMNS = (
    "signal_incident_id, platform, account_id, signal, started_at, last_fired_at, peak_severity, "
    "peak_observed, peak_baseline, peak_ratio"
)
_EPISODE_COLUMNS = (
    "incident_id, platform, account_id, started_at, last_fired_at, first_alert_at, first_alert_severity, "
    "inbound_count, negative_count, post_keys, top_keywords"
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


@dataclass
class Episode:
    """One crisis of one account (a row of the incidents mart) with its signal incidents."""

    platform: str
    account_id: str
    incidents: list[Incident] = field(default_factory=list)
    # First hour whose combined severity is warning or more, and that severity (the mart's
    # first_alert_at); when unknown, the start and peak of the first incident that peaked at warning.
    alert_at: dt.datetime | None = None
    first_severity: str | None = None
    incident_id: str | None = None
    inbound_count: int = 0
    negative_count: int = 0
    post_keys: str | None = None
    top_keywords: str | None = None
    # (started_at, last_fired_at) from the mart; hand-built episodes take them from their incidents
    bounds: tuple[dt.datetime, dt.datetime] | None = None

    @property
    def episode_id(self) -> str:
        return self.incident_id or self.incidents[0].incident_id

    @property
    def started_at(self) -> dt.datetime:
        return self.bounds[0] if self.bounds else min(i.started_at for i in self.incidents)

    @property
    def last_fired_at(self) -> dt.datetime:
        return self.bounds[1] if self.bounds else max(i.last_fired_at for i in self.incidents)

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


def without_covered_community(episodes: list[Episode], *, quiet_hours: int) -> list[Episode]:
    """Drops the community-wide crises that overlap an account's: those repeat the account's alert."""
    quiet = dt.timedelta(hours=quiet_hours)
    accounts = [e for e in episodes if e.platform != "all"]
    return [
        e
        for e in episodes
        if e.platform != "all"
        or not any(
            _overlaps(e.started_at, e.last_fired_at + quiet, a.started_at, a.last_fired_at + quiet)
            for a in accounts
        )
    ]


def _stretches(
    incidents: list[Incident], quiet: dt.timedelta
) -> list[tuple[dt.datetime, dt.datetime, list[Incident]]]:
    """(start, last firing, incidents) of each stretch of a crisis with no quiet gap of `quiet`: after
    one, the crisis had ended; the next stretch re-opened it (within cooldown_hours, else it would be
    another crisis)."""
    out: list[tuple[dt.datetime, dt.datetime, list[Incident]]] = []
    for inc in sorted(incidents, key=lambda i: (i.started_at, i.signal)):
        if out and inc.started_at < out[-1][1] + quiet:
            start_at, last_at, incs = out[-1]
            out[-1] = (start_at, max(last_at, inc.last_fired_at), [*incs, inc])
        else:
            out.append((inc.started_at, inc.last_fired_at, [inc]))
    return out


def describe(inc: Incident, config: Config) -> str:
    c = config.crisis
    obs, base, ratio = inc.peak_observed, inc.peak_baseline or 0.0, inc.peak_ratio
    if inc.signal == "volume_spike":
        # the busiest 60 minutes (int_crisis_volume_rolling) against the usual count of that hour
        return f"{obs:.0f} messages in 60 minutes vs {base:.0f} usual in that hour (×{ratio:.1f})"
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
    keywords = sorted(k for k in (ep.top_keywords or "").split(",") if k)
    post_keys = [k for k in (ep.post_keys or "").split(",") if k][:MAX_POSTS]
    links = tuple(
        Link(f"Post {k.split(':', 1)[1]}", (permalinks or {})[k], platform=k.split(":", 1)[0])
        for k in post_keys
        if (permalinks or {}).get(k)
    )
    member_text = tuple(_truncate(t) for t in comments[:TOP_COMMENTS] if t)
    messages, negatives = ep.inbound_count, ep.negative_count

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
    # Each signal joins once: the first time it fires after the root alert, unless it was in the root
    # alert; firing again after a pause (a slow burn's keywords, hour after hour) is not news.
    announced = {i.signal for i in first_hour}
    stretches = _stretches(seen, quiet)
    # the incidents re-opening an ended crisis: announced as "is back" below, not as a signal joining
    restarts = {id(i) for st in stretches[1:] for i in st[2] if i.started_at == st[0]}
    for inc in sorted(later, key=lambda i: (i.started_at, i.signal)):
        if inc.signal in announced or id(inc) in restarts:
            announced.add(inc.signal)
            continue
        announced.add(inc.signal)
        name = SIGNAL_NAMES.get(inc.signal, inc.signal)
        alerts.append(
            Alert(
                severity=SEVERITY_OF.get(inc.peak_severity, "info"),  # type: ignore[arg-type]
                dedupe_key=f"{thread}:signal:{inc.signal}",
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
    # The crisis is over once quiet for end_after_quiet_hours (a resolved note). A signal starting
    # again within cooldown_hours of that re-opens it (int_crisis_episodes' rule: same row, same thread):
    # "is back", then a resolved note of its own when it ends again. Stretches before the root alert
    # (a watch that never called for one) were never announced, so they are not closed either.
    root = next((k for k, st in enumerate(stretches) if alert_at < st[1]), len(stretches) - 1)
    for n, (start_at, last_at, incs) in enumerate(stretches[root:]):
        suffix = f":{n}" if n else ""
        if n:
            back = [i for i in incs if i.started_at == start_at]
            names = ", ".join(SIGNAL_NAMES.get(i.signal, i.signal) for i in back)
            worst = max((i.peak_severity for i in back), key=lambda v: RANK.get(v, 0))
            alerts.append(
                Alert(
                    severity=SEVERITY_OF.get(worst, "info"),  # type: ignore[arg-type]
                    dedupe_key=f"{thread}:reopened{suffix}",
                    title=f"Crisis on {label} is back: {names}",
                    facts=facts(back),
                    occurred_at=start_at,
                    reason=f"{names} fired again at {local_time(start_at, config.tz)}, within "
                    f"{config.crisis.cooldown_hours} h of the end",
                    reopens=True,  # the root, updated to "Resolved" at the end, says it re-opened
                    **common,
                )
            )
        is_last = root + n == len(stretches) - 1
        # an incident the marts hold that starts after `now` (a build later than now) starts after this
        # stretch's end, so it cannot change whether the stretch was over at `now`
        if is_last and last_at + quiet > now:
            break
        alerts.append(
            Alert(
                kind="crisis",
                severity="info",
                dedupe_key=f"{thread}:resolved{suffix}",
                title=f"Crisis on {label} is over",
                facts=(
                    ("Account", label),
                    ("Lasted", local_span(ep.started_at if n == 0 else start_at, last_at, config.tz)),
                    ("Peak severity", peak),
                    ("Messages", f"{messages} inbound, {negatives} negative"),
                ),
                thread_key=thread,
                occurred_at=last_at + quiet,
                reason=f"no signal for {config.crisis.end_after_quiet_hours} h",
                resolves=True,
                owner=owner,
            )
        )
    return alerts


def load_episodes(con: duckdb.DuckDBPyConnection, config: Config, now: dt.datetime) -> list[Episode]:
    """The crises started by `now`, each with its signal incidents, oldest first; the community-wide
    ones only where no account's crisis overlaps them. [] when the crisis marts are not built."""
    if not table_exists(con, "marts", "fct_crisis_incidents"):
        return []
    tables = ["marts.fct_crisis_incidents"]
    if table_exists(con, "marts", "fct_crisis_incidents_community"):
        tables.append("marts.fct_crisis_incidents_community")
    # table and column names are constants
    union = " union all ".join(f"select {_EPISODE_COLUMNS} from {t} where started_at <= ?" for t in tables)  # noqa: S608
    sql = f"{union} order by started_at, platform, account_id"
    rows = con.execute(sql, [now] * len(tables)).fetchall()
    episodes: dict[tuple[str, str], list[Episode]] = {}
    ordered: list[Episode] = []
    for iid, platform, account, started, last, alert_at, first_sev, inbound, negative, posts, kws in rows:
        ep = Episode(
            platform,
            account,
            alert_at=alert_at,
            first_severity=first_sev,
            incident_id=iid,
            inbound_count=int(inbound or 0),
            negative_count=int(negative or 0),
            post_keys=posts,
            top_keywords=kws,
            bounds=(started, last),
        )
        episodes.setdefault((platform, account), []).append(ep)
        ordered.append(ep)
    names = [c.strip() for c in _SIGNAL_COLUMNS.split(",")]
    for r in con.execute(
        f"select {_SIGNAL_COLUMNS} from intermediate.int_crisis_signal_incidents where started_at <= ? "  # noqa: S608
        "order by started_at, signal",
        [now],
    ).fetchall():
        d = dict(zip(names, r, strict=True))
        d["incident_id"] = d.pop("signal_incident_id")
        inc = Incident(**d)
        # crises of one account never overlap: a signal incident belongs to the one it starts in
        for ep in episodes.get((inc.platform, inc.account_id), ()):
            if ep.started_at <= inc.started_at < ep.last_fired_at:
                ep.incidents.append(inc)
                break
    kept = [ep for ep in ordered if ep.incidents]
    return without_covered_community(kept, quiet_hours=config.crisis.end_after_quiet_hours)


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
    episodes = [ep for ep in load_episodes(con, config, now) if not is_history(ep, config, now)]
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
        keys = [k for k in (ep.post_keys or "").split(",") if k]
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
