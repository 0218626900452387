"""Does the crisis watch find the planted crises, how fast, and how often does it cry wolf?

    .venv/bin/python bench/crisis_eval.py [--days 90] [--seed 7] [--end 2026-11-20] [--work DIR]

For each scenario of the sample generator (`default`: a sudden crisis; `slow_burn`: the negative
share rising over three days without a volume spike) it writes the sample, imports it, enriches
it, builds the crisis marts as of the sample's `now`, and runs the crisis alert rule over the whole
period. It reports:
- detection: the first alert episode covering the planted crisis, its first firing hour, and the
  earliest instant a watch running every few minutes could have raised it (the moment the count in
  that hour crossed the volume or keyword threshold); an upper bound is the end of that hour;
- false alarms: alert episodes (root messages) and all crisis messages outside the planted crisis.
Results go to bench/results/crisis_eval.json and between the markers of docs/crisis.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
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


def earliest_fire(con, config: Config, row: dict) -> dt.datetime | None:
    """When, inside the first firing hour, the volume or keyword count crossed its threshold."""
    vs = config.crisis.volume_spike
    cands = []
    where = "(? = 'all' or (platform = ? and account_id = ?))"
    args = [row["platform"], row["platform"], row["account_id"]]
    if row["volume_fired"]:
        base, mad = row["volume_baseline"], max(row["volume_mad"], 1)
        need = max(
            vs.min_count, math.ceil(vs.min_ratio * max(base, 1)), math.ceil(base + vs.min_z * mad / 0.6745)
        )
        r = con.execute(
            f"select created_at from intermediate.int_crisis_comments where hour_at = ? and {where} "  # noqa: S608
            "order by created_at limit 1 offset ?",
            [row["hour_at"], *args, need - 1],
        ).fetchone()
        if r:
            cands.append(r[0])
    if row["keywords_fired"]:
        w = config.crisis.post_turning_negative.window_hours
        r = con.execute(
            f"select created_at from intermediate.int_crisis_comments where keywords is not null and "  # noqa: S608
            f"hour_at > ? - interval {int(w)} hour and hour_at <= ? and {where} order by created_at limit 1 offset ?",
            [row["hour_at"], row["hour_at"], *args, config.crisis.min_keyword_hits - 1],
        ).fetchone()
        if r:
            cands.append(max(r[0], row["hour_at"]))
    return min(cands) if cands else None


def run_scenario(scenario: str, args, work: Path) -> dict:
    from alerts.crisis_rules import crisis_alerts, load_episodes
    from connectors.files import import_bundle
    from enrichment.store import enrich_new_comments
    from tertulia import warehouse
    from tertulia.config_tables import sync_config_tables
    from tertulia.dbt_runner import DbtError, run_dbt
    from tertulia.raw_schema import ensure_raw_tables
    from tertulia.sample import write_sample

    shutil.rmtree(work, ignore_errors=True)  # a fresh warehouse and bundle for each scenario
    work.mkdir(parents=True)
    # run_dbt exports TERTULIA_WAREHOUSE, which wins over the config: point it at this scenario's file
    os.environ["TERTULIA_WAREHOUSE"] = str(work / "warehouse.duckdb")
    config = make_config(work)
    facts = write_sample(work / "bundle", days=args.days, seed=args.seed, end=args.end, scenario=scenario)
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
    res = run_dbt(
        config,
        ["run", "--select", "+fct_crisis_incidents +fct_crisis_incidents_community", "--full-refresh"],
        as_of=facts.now,
    )
    if not res.success:
        raise DbtError("; ".join(f"{n.name}: {n.message}" for n in res.failures))
    elapsed = time.perf_counter() - t0

    tz = ZoneInfo(config.community.timezone)
    con = warehouse.connect(config.warehouse_path, read_only=True)
    try:
        episodes = load_episodes(con, config, facts.now)
        watch_only = [e for e in episodes if e.alert_start() is None]
        episodes = [e for e in episodes if e.alert_start() is not None]
        # Every alert the sample calls for, as a watch running since its first day would have sent them:
        # the alert look-back (an episode over before it is history on a first run) must not hide old
        # false alarms from this count.
        watching = config.model_copy(
            update={"warehouse": config.warehouse.model_copy(update={"lookback_hours": 24 * (args.days + 1)})}
        )
        alerts = crisis_alerts(con, watching, facts.now)
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
            fire = earliest_fire(con, config, row)
            out["detected"] = {
                "account": f"{first.platform}:{first.account_id}",
                "first_hour_utc": alert_at.isoformat(sep=" "),
                "signals_first_hour": sorted(set((row["fired_signals"] or "").split(",")) - {""}),
                "signals_all": sorted({i.signal for i in first.incidents}),
                "severity_first_hour": row["severity"],
                "peak_severity": first.peak_severity,
                "earliest_alert_utc": fire.isoformat(sep=" ") if fire else None,
                "minutes_after_start_earliest": round((fire - planted_from).total_seconds() / 60, 1)
                if fire
                else None,
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
        return out
    finally:
        con.close()


def render(results: list[dict], args) -> str:
    lines = [
        START,
        "",
        f"Generated by `bench/crisis_eval.py --days {args.days} --seed {args.seed} --end {args.end}` "
        f"on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, with the thresholds of community.example.yml.",
        "",
        "| scenario | planted crisis detected (severity) | first alerting hour (UTC) | earliest alert after start "
        "| end of that hour after start | signals | resolved note after volume/keywords/posts quiet "
        "| false-alarm episodes (days) | other crisis messages |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        d = r["detected"]
        if d:
            earliest = d["minutes_after_start_earliest"]
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
                f"{f'{earliest} min' if earliest is not None else '—'} | "
                f"{f'{bound} min' if bound < 180 else f'{bound / 60:.0f} h'} | {', '.join(d['signals_all'])} | "
                f"{resolved_after} | "
                f"{r['false_alarm_episodes']} ({r['days_with_false_alarms']}) | {r['false_alarm_messages']} |"
            )
        else:
            lines.append(
                f"| {r['scenario']} | **no** | | | | | | {r['false_alarm_episodes']} "
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
