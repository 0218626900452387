"""Does the crisis watch find the planted crises, how fast, and how often does it cry wolf?

    .venv/bin/python bench/crisis_eval.py [--days 90] [--seed 7] [--end 2026-11-20] [--work DIR]

For each scenario of the sample generator (`default`: a sudden crisis; `slow_burn`: the negative
share rising over three days without a volume spike) it writes the sample, imports it, enriches
it, builds the crisis marts as of the sample's `now`, and runs the crisis alert rule over the whole
period. It reports:
- detection: the first alert episode covering the planted crisis and its first firing hour; for the
  flash crisis, a replay of the 10-minute watch (`watch_run`: the messages written by each run's
  instant, the marts built as of it, the alert rule run at it): the first run that opens its thread,
  and the first at which it is critical;
- false alarms: alert episodes (root messages) and all crisis messages outside the planted crisis.
Results go to bench/results/crisis_eval.json and between the markers of docs/crisis.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from tertulia.config import Config, example_config_in  # noqa: E402

DOC = ROOT / "docs/crisis.md"
START, END = "<!-- crisis-eval:start -->", "<!-- crisis-eval:end -->"


def make_config(work: Path) -> Config:
    return example_config_in(work)


CADENCE = dt.timedelta(minutes=10)  # the crisis watch's schedule (flows: every 10 minutes)
WATCH_RUNS = 12  # how many watch runs after a planted start the replay tries (2 hours)


def prepare(scenario: str, work: Path, *, days: int, seed: int, end: dt.date):
    """Writes the scenario's sample, imports and enriches it in a fresh `work/warehouse.duckdb`, and
    builds the crisis marts as of the sample's `now` (full refresh). (config, facts, enriched, enrich
    seconds, pipeline seconds)."""
    from connectors.files import import_bundle
    from enrichment.store import enrich_new_comments
    from tertulia import warehouse
    from tertulia.config_tables import sync_config_tables
    from tertulia.raw_schema import ensure_raw_tables
    from tertulia.sample import write_sample

    shutil.rmtree(work, ignore_errors=True)  # a fresh warehouse and bundle for each scenario
    work.mkdir(parents=True)
    # run_dbt exports TERTULIA_WAREHOUSE, which wins over the config: point it at this scenario's file
    os.environ["TERTULIA_WAREHOUSE"] = str(work / "warehouse.duckdb")
    config = make_config(work)
    facts = write_sample(work / "bundle", days=days, seed=seed, end=end, scenario=scenario)
    t0 = time.perf_counter()
    con = warehouse.connect(config.warehouse_path)
    try:
        ensure_raw_tables(con)
        sync_config_tables(con, config)
        report = import_bundle(con, work / "bundle", config)
        if getattr(report, "errors", None):
            raise SystemExit(f"import failed: {report.errors}")
        t1 = time.perf_counter()
        enriched = enrich_new_comments(con, config)
        t_enrich = time.perf_counter() - t1
    finally:
        con.close()
    build_crisis_marts(config, facts.now)
    return config, facts, enriched, t_enrich, time.perf_counter() - t0


def build_crisis_marts(config: Config, as_of: dt.datetime) -> None:
    from tertulia.dbt_runner import DbtError, run_dbt

    res = run_dbt(
        config,
        ["run", "--select", "+fct_crisis_incidents +fct_crisis_incidents_community", "--full-refresh"],
        as_of=as_of,
    )
    if not res.success:
        raise DbtError("; ".join(f"{n.name}: {n.message}" for n in res.failures))


def watching(config: Config, days: int) -> Config:
    """The config of a watch running since the sample's first day: the alert look-back (an episode over
    before it is history on a first run) must not hide old alerts from the counts."""
    return config.model_copy(
        update={"warehouse": config.warehouse.model_copy(update={"lookback_hours": 24 * (days + 1)})}
    )


def watch_run(config: Config, work: Path, at: dt.datetime) -> list:
    """The crisis alerts a watch running at `at` would raise: in a copy of the scenario's warehouse, the
    messages written after `at` are removed (they had not arrived), the crisis marts are built as of
    `at`, and the alert rule runs at `at`. Landing is taken as instant (the watch ingests first)."""
    from alerts.crisis_rules import crisis_alerts
    from tertulia import warehouse

    copy = work / "watch.duckdb"
    shutil.copyfile(work / "warehouse.duckdb", copy)
    before = os.environ.get("TERTULIA_WAREHOUSE")
    os.environ["TERTULIA_WAREHOUSE"] = str(copy)
    try:
        con = warehouse.connect(copy)
        try:
            con.execute(
                "delete from raw.comments as r where exists (select 1 from staging.stg_social__comments as s "
                "where s.platform = r.platform and s.comment_id = r.comment_id and s.created_at > ?)",
                [at],
            )
        finally:
            con.close()
        build_crisis_marts(config, at)
        con = warehouse.connect(copy, read_only=True)
        try:
            return crisis_alerts(con, config, at)
        finally:
            con.close()
    finally:
        if before is None:
            os.environ.pop("TERTULIA_WAREHOUSE", None)
        else:
            os.environ["TERTULIA_WAREHOUSE"] = before


def watch_runs_after(start: dt.datetime) -> list[dt.datetime]:
    """The instants a watch every CADENCE (on the clock: :00, :10, ...) runs after `start`."""
    step = int(CADENCE.total_seconds())
    first = dt.datetime.fromtimestamp(
        (int(start.replace(tzinfo=dt.UTC).timestamp()) // step + 1) * step, dt.UTC
    )
    return [first.replace(tzinfo=None) + k * CADENCE for k in range(WATCH_RUNS)]


def replay_watch(config: Config, work: Path, planted_from: dt.datetime, account: str) -> dict:
    """The first watch run after `planted_from` that opens a crisis thread on `account` (platform:id), and
    the first at which that crisis is critical (its root alert or an escalation)."""
    out: dict = {"first_alert_run_utc": None, "first_alert_severity": None, "critical_run_utc": None}
    prefix = f"crisis:{account}:"
    for at in watch_runs_after(planted_from):
        alerts = [
            a
            for a in watch_run(config, work, at)
            if a.thread_key
            and a.thread_key.startswith(prefix)
            and a.occurred_at
            and a.occurred_at >= planted_from - dt.timedelta(hours=1)
        ]
        root = next((a for a in alerts if a.dedupe_key.endswith(":open")), None)
        if root and out["first_alert_run_utc"] is None:
            out["first_alert_run_utc"], out["first_alert_severity"] = at, root.severity
        if any(a.severity == "critical" and not a.resolves for a in alerts):
            out["critical_run_utc"] = at
            break
    for k in ("first_alert_run_utc", "critical_run_utc"):
        at = out[k]
        out[k.replace("_run_utc", "_minutes_after_start")] = (
            round((at - planted_from).total_seconds() / 60, 1) if at else None
        )
        out[k] = at.isoformat(sep=" ") if at else None
    return out


def run_scenario(scenario: str, args, work: Path) -> dict:
    from alerts.crisis_rules import crisis_alerts, load_episodes
    from tertulia import warehouse

    config, facts, enriched, t_enrich, elapsed = prepare(
        scenario, work, days=args.days, seed=args.seed, end=args.end
    )
    tz = ZoneInfo(config.community.timezone)
    con = warehouse.connect(config.warehouse_path, read_only=True)
    try:
        episodes = load_episodes(con, config, facts.now)
        watch_only = [e for e in episodes if e.alert_start() is None]
        episodes = [e for e in episodes if e.alert_start() is not None]
        # Every alert the sample calls for, as a watch running since its first day would have sent them
        alerts = crisis_alerts(con, watching(config, args.days), facts.now)
        quiet = dt.timedelta(hours=config.crisis.end_after_quiet_hours)

        if scenario == "default":
            planted_from = facts.crisis_start
            planted_to = facts.crisis_start + dt.timedelta(hours=24)
        else:
            local0 = dt.datetime.combine(facts.slow_burn_start, dt.time(0), tz)
            planted_from = local0.astimezone(dt.UTC).replace(tzinfo=None)
            planted_to = facts.now + dt.timedelta(hours=1)

        def covers(ep) -> bool:
            return ep.started_at < planted_to and planted_from < ep.last_fired_at + quiet

        hits = [e for e in episodes if covers(e)]
        false_eps = [e for e in episodes if not covers(e)]
        false_msgs = [a for a in alerts if a.thread_key not in {f"crisis:{e.episode_id}" for e in hits}]
        out: dict = {
            "scenario": scenario,
            "sample": facts.describe(),
            "comments": facts.counts.get("comments"),
            "enriched": enriched,
            "enrich_seconds": round(t_enrich, 2),
            "pipeline_seconds": round(elapsed, 1),
            "planted_from_utc": planted_from.isoformat(sep=" "),
            "episodes_total": len(episodes),
            "watch_only_episodes_not_alerted": len(watch_only),
            "alert_messages_total": len(alerts),
            "false_alarm_episodes": len(false_eps),
            "false_alarm_messages": len(false_msgs),
            "false_alarms": [
                {
                    "started_at": e.started_at.isoformat(sep=" "),
                    "account": f"{e.platform}:{e.account_id}",
                    "signals": sorted({i.signal for i in e.incidents}),
                    "peak": e.peak_severity,
                }
                for e in false_eps
            ],
            "days_with_false_alarms": len(
                {e.started_at.replace(tzinfo=dt.UTC).astimezone(tz).date() for e in false_eps}
            ),
        }
        if hits:
            first = min(hits, key=lambda e: e.alert_start()[0])
            alert_at = first.alert_start()[0]
            row = (
                con.execute(
                    "select * from marts.fct_crisis_signals where platform = ? and account_id = ? and hour_at = ?",
                    [first.platform, first.account_id, alert_at],
                )
                .fetchdf()
                .to_dict("records")[0]
            )
            out["detected"] = {
                "account": f"{first.platform}:{first.account_id}",
                "first_hour_utc": alert_at.isoformat(sep=" "),
                "signals_first_hour": sorted(set((row["fired_signals"] or "").split(",")) - {""}),
                "signals_all": sorted({i.signal for i in first.incidents}),
                "severity_first_hour": row["severity"],
                "peak_severity": first.peak_severity,
                "minutes_after_start_hour_end": round(
                    (alert_at + dt.timedelta(hours=1) - planted_from).total_seconds() / 60, 1
                ),
                "root_alert_title": next(
                    (a.title for a in alerts if a.dedupe_key == f"crisis:{first.episode_id}:open"), None
                ),
            }
            # When the crisis ends: the resolved note against the end of the last hour in which the
            # volume, the keywords or a post still fired (the 24 h negative share lags by design)
            fast_end = con.execute(
                "select max(hour_end_at) from marts.fct_crisis_signals where platform = ? and account_id = ? "
                "and hour_at >= ? and hour_at < ? and (volume_fired or keywords_fired or post_fired)",
                [first.platform, first.account_id, first.started_at, first.last_fired_at],
            ).fetchone()[0]
            resolved = next(
                (a.occurred_at for a in alerts if a.dedupe_key == f"crisis:{first.episode_id}:resolved"), None
            )
            out["detected"]["last_fast_signal_hour_end_utc"] = (
                fast_end.isoformat(sep=" ") if fast_end else None
            )
            out["detected"]["resolved_utc"] = resolved.isoformat(sep=" ") if resolved else None
            out["detected"]["resolved_hours_after_fast_signals"] = (
                round((resolved - fast_end).total_seconds() / 3600, 1) if resolved and fast_end else None
            )
        else:
            out["detected"] = None
    finally:
        con.close()
    # A flash crisis: replay the 10-minute watch over its first hours (a slow burn takes days to
    # detect, far beyond a replay of a few runs; its hourly figures above say when)
    if scenario == "default" and out["detected"]:
        out["watch"] = replay_watch(config, work, planted_from, out["detected"]["account"])
    return out


def render(results: list[dict], args) -> str:
    lines = [
        START,
        "",
        f"Generated by `bench/crisis_eval.py --days {args.days} --seed {args.seed} --end {args.end}` "
        f"on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, with the thresholds of community.example.yml.",
        "",
        "| scenario | planted crisis detected (severity) | first alerting hour (UTC) "
        "| first alert, 10-minute watch (severity) | critical, 10-minute watch "
        "| end of that hour after start | signals | resolved note after volume/keywords/posts quiet "
        "| false-alarm episodes (days) | other crisis messages |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        d = r["detected"]
        if d:
            w = r.get("watch") or {}
            first_watch = (
                f"{w['first_alert_minutes_after_start']} min ({w['first_alert_severity']})"
                if w.get("first_alert_run_utc")
                else "—"
            )
            critical_watch = f"{w['critical_minutes_after_start']} min" if w.get("critical_run_utc") else "—"
            after = d.get("resolved_hours_after_fast_signals")
            if d.get("resolved_utc") is None:
                resolved_after = "open at the end"
            elif after is None:
                resolved_after = "n/a (negative share only)"
            else:
                resolved_after = f"{after} h"
            bound = d["minutes_after_start_hour_end"]
            lines.append(
                f"| {r['scenario']} | yes ({d['account']}, {d['severity_first_hour']}) | {d['first_hour_utc']} | "
                f"{first_watch} | {critical_watch} | "
                f"{f'{bound} min' if bound < 180 else f'{bound / 60:.0f} h'} | {', '.join(d['signals_all'])} | "
                f"{resolved_after} | "
                f"{r['false_alarm_episodes']} ({r['days_with_false_alarms']}) | {r['false_alarm_messages']} |"
            )
        else:
            lines.append(
                f"| {r['scenario']} | **no** | | | | | | | {r['false_alarm_episodes']} "
                f"({r['days_with_false_alarms']}) | {r['false_alarm_messages']} |"
            )
    lines += [
        "",
        "For `slow_burn` the start is midnight (local) of the first day of the rising negative share; the",
        "signal needs the 24-hour share to pass min_share and min_ratio, which happens on the third day.",
        "",
    ]
    for r in results:
        lines.append(
            f"- `{r['scenario']}`: {r['sample']}. {r['episodes_total']} alerted episodes, "
            f"{r['alert_messages_total']} crisis messages in all, "
            f"{r['watch_only_episodes_not_alerted']} watch-only episodes (a single signal such as a "
            f"busy hour; in the mart, not sent); pipeline (import, enrich, build) "
            f"{r['pipeline_seconds']} s."
        )
        for fa in r["false_alarms"][:10]:
            lines.append(
                f"  - false alarm: {fa['started_at']} UTC on {fa['account']}: "
                f"{', '.join(fa['signals'])} (peak {fa['peak']})"
            )
    lines += ["", END]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2026, 11, 20))
    ap.add_argument("--work", type=Path, default=None, help="working folder (default: a temporary one)")
    ap.add_argument("--scenario", action="append", choices=("default", "slow_burn"))
    ap.add_argument("--no-doc", action="store_true", help="do not rewrite docs/crisis.md")
    args = ap.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="tertulia-crisis-eval-"))
    results = []
    try:
        for scenario in args.scenario or ["default", "slow_burn"]:
            r = run_scenario(scenario, args, work / scenario)
            print(json.dumps(r, indent=2, default=str))
            results.append(r)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    out = ROOT / "bench/results/crisis_eval.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    if not args.no_doc and DOC.exists():
        text = DOC.read_text(encoding="utf-8")
        if START in text and END in text:
            text = text[: text.index(START)] + render(results, args) + text[text.index(END) + len(END) :]
            DOC.write_text(text, encoding="utf-8")
            print(f"updated {DOC.relative_to(ROOT)}")
    return results


if __name__ == "__main__":
    main()
