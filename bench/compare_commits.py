"""DuckDB at several commits on one bundle, step by step interleaved (issue 18: "the DuckDB benchmark
figures are unchanged or better" after the dbt project was made portable to PostgreSQL).

    python bench/compare_commits.py --commit 1723ae7=/tmp/duckreg-1723 --commit 93ca683=/tmp/duckreg-93ca \\
        --commit HEAD=. --scale 100 --rounds 2 --cycles 3 --work /tmp/duckreg-bench

Each --commit is LABEL=PATH, PATH a checkout of that commit (`git worktree add /tmp/x COMMIT`) with its
own `.venv` (`make install` there); the first is the baseline the ratios are against. Every phase is
that checkout's own bench/phase.py, run by its own Python in its own process (bench/run.py's
`run_phase`: wait4's CPU seconds and peak memory, the load at its start and end), so each commit
does its own work and this script measures all of them the same way. The bundle is generated once
(this checkout's `tertulia sample`, into --work) and hard-linked into one work dir per commit.

One round: a fresh warehouse per commit; then each step (backfill import of the whole bundle, enrichment
of every comment, aging of the landing times, `dbt build --full-refresh`, the incremental cycles) runs
for every commit before the next step, the commits' order rotating each round, so a change in the shared
machine's load hits them alike. Per-model seconds of each full build come from its run_results.json.
After the first round's build, each warehouse is copied aside and at the end every table of the
`marts` schema is compared with the baseline's, row for row: the comparison is of the same work.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from phase import _node_seconds  # noqa: E402
from run import generate, machine, new_comments_bundle, run_phase  # noqa: E402

STEPS = ("import", "enrich", "build", "first cycle", "steady cycle")


def commit_of(repo: Path) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    )
    return out.stdout.strip()[:100]


def link_bundle(src: Path, dst: Path) -> None:
    """The same bundle files in each commit's work dir, hard-linked (the importer refuses symlinks
    leading out of the bundle; a copy of 1M comments is seconds of I/O per commit)."""
    if dst.exists():
        return
    shutil.copytree(src, dst, copy_function=os.link)


def fresh(work: Path) -> None:
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        (work / name).unlink(missing_ok=True)
    shutil.rmtree(work / "dbt", ignore_errors=True)


def measured(result: dict) -> dict:
    """What the comparison keeps of a phase's result."""
    keep = ("seconds", "process_seconds", "cpu_seconds", "load_at_start", "load_at_end", "peak_rss_mb")
    out = {k: result.get(k) for k in keep}
    for k in ("rows", "comments", "models", "failures", "steps", "landed", "enriched", "alerts", "slowest"):
        if k in result:
            out[k] = result[k]
    return out


def model_seconds(work: Path) -> dict:
    """Every model's seconds in the last dbt invocation of `work` (tests left out, they are summed)."""
    nodes = _node_seconds(work)
    # models are named bare by _node_seconds; tests, hooks and exposures keep their dotted unique id
    models = {n: s for n, s in nodes if "." not in n}
    models["(all tests)"] = round(sum(s for n, s in nodes if n.startswith(("test.", "unit_test."))), 2)
    return models


def compare_marts(base: Path, other: Path, schema: str = "marts") -> dict:
    """Every table of `schema` (the marts by default) of two warehouses, row for row (EXCEPT ALL both
    ways over the common columns; doubles rounded to 9 decimals, as a float sum's last bits depend on
    the order it was added in). Columns in one only are listed, not compared."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"attach '{base}' as a (read_only)")
    con.execute(f"attach '{other}' as b (read_only)")

    def tables(db: str) -> dict[str, dict[str, str]]:
        rows = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_catalog = ? and table_schema = ? order by table_name, ordinal_position",
            [db, schema],
        ).fetchall()
        out: dict[str, dict[str, str]] = {}
        for t, c, ty in rows:
            out.setdefault(t, {})[c] = ty
        return out

    ta, tb = tables("a"), tables("b")
    report: dict = {
        "only_in_baseline": sorted(set(ta) - set(tb)),
        "only_in_other": sorted(set(tb) - set(ta)),
        "tables": {},
    }
    for t in sorted(set(ta) & set(tb)):
        common = [c for c in ta[t] if c in tb[t]]

        def col(c: str, ty: str) -> str:
            q = '"' + c.replace('"', '""') + '"'
            return f"round({q}::double, 9) as {q}" if ty in ("DOUBLE", "FLOAT", "REAL") else q

        cols_a = ", ".join(col(c, ta[t][c]) for c in common)
        cols_b = ", ".join(col(c, tb[t][c]) for c in common)
        na = con.execute(f"select count(*) from a.{schema}.{t}").fetchone()[0]  # noqa: S608
        nb = con.execute(f"select count(*) from b.{schema}.{t}").fetchone()[0]  # noqa: S608
        a_not_b = con.execute(
            f"select count(*) from (select {cols_a} from a.{schema}.{t} except all select {cols_b} from b.{schema}.{t})"  # noqa: S608
        ).fetchone()[0]
        b_not_a = con.execute(
            f"select count(*) from (select {cols_b} from b.{schema}.{t} except all select {cols_a} from a.{schema}.{t})"  # noqa: S608
        ).fetchone()[0]
        entry = {"rows": [na, nb], "baseline_not_other": a_not_b, "other_not_baseline": b_not_a}
        if a_not_b or b_not_a:
            # which columns differ, each alone: a landing-time watermark differs in every row (each
            # commit imported at its own clock), a float32 that became double in many
            entry["columns_differ"] = {}
            for c in common:
                ca, cb = col(c, ta[t][c]), col(c, tb[t][c])
                n = con.execute(
                    f"select count(*) from (select {ca} from a.{schema}.{t} except all select {cb} from b.{schema}.{t})"  # noqa: S608
                ).fetchone()[0]
                if n:
                    entry["columns_differ"][c] = n
        types = {c: [ta[t][c], tb[t][c]] for c in common if ta[t][c] != tb[t][c]}
        if types:
            entry["types_differ"] = types
        missing = sorted(set(ta[t]) ^ set(tb[t]))
        if missing:
            entry["columns_not_in_both"] = missing
        report["tables"][t] = entry
    con.close()
    report["identical"] = [
        t for t, e in report["tables"].items() if not e["baseline_not_other"] + e["other_not_baseline"]
    ]
    report["different"] = sorted(set(report["tables"]) - set(report["identical"]))
    return report


def marts(work: Path, labels: list[str]) -> dict:
    """Each commit's marts after the first full build against the baseline's (the first label)."""
    base = work / f"commit-{labels[0]}" / "after-build.duckdb"
    return {
        label: compare_marts(base, work / f"commit-{label}" / "after-build.duckdb") for label in labels[1:]
    }


def summary(rounds: list[dict], labels: list[str]) -> dict:
    out: dict = {}
    base = labels[0]
    for step in STEPS:
        out[step] = {}
        for label in labels:
            runs = [r for rnd in rounds for r in rnd.get(step, {}).get(label, [])]
            if not runs:
                continue

            def stat(key: str, runs=runs) -> dict:
                v = [r[key] for r in runs if r.get(key) is not None]
                return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}

            out[step][label] = {
                "seconds": stat("seconds"),
                "cpu_seconds": stat("cpu_seconds"),
                "process_seconds": stat("process_seconds"),
                "load_at_start": stat("load_at_start"),
                "load_at_end": stat("load_at_end"),
                "peak_rss_mb": stat("peak_rss_mb"),
            }
        if base in out[step]:
            for x in out[step].values():
                b = out[step][base]
                x["wall_ratio"] = x["seconds"]["median"] / b["seconds"]["median"]
                x["cpu_ratio"] = x["cpu_seconds"]["median"] / b["cpu_seconds"]["median"]
    return out


def markdown(res: dict) -> str:
    m = res["machine"]
    lines = [
        f"# DuckDB at {len(res['commits'])} commits, scale {res['scale']} ({res['date']})",
        "",
        f"Machine: {m['cores']} cores, {m['memory_gb']} GB, shared with other sessions. Scale {res['scale']} "
        f"({res.get('comments') or 0:,} comments), {res['rounds_done']} rounds begun (runs: how many of each "
        f"step), {res['cycles']} cycles a round "
        "(the first after the full build reported apart). Medians (min–max) over the rounds; wall s is "
        "the phase's own timing, CPU s the phase process's and its children's (wait4), the robust figure "
        "here; load is the 1-minute load average at the phase's start → end (medians).",
        "",
        "Commits: "
        + "; ".join(
            f"**{k}** `{v['commit']}` (DuckDB memory limit: {v['memory_limit']})"
            for k, v in res["commits"].items()
        ),
        "",
        "| step | commit | runs | wall s | CPU s | ratio to " + res["baseline"] + " (wall / CPU) | load |",
        "|---|---|---|---|---|---|---|",
    ]

    def f(s: dict) -> str:
        return f"{s['median']:.1f} ({s['min']:.1f}–{s['max']:.1f})"

    for step, per in res["summary"].items():
        for label, x in per.items():
            lines.append(
                f"| {step} | {label} | {x['seconds']['n']} | {f(x['seconds'])} | {f(x['cpu_seconds'])} | "
                f"{x['wall_ratio']:.2f} / {x['cpu_ratio']:.2f} | "
                f"{x['load_at_start']['median']:.1f} → {x['load_at_end']['median']:.1f} |"
            )
    builds = res.get("build_models", {})
    if builds:
        labels = list(builds)
        names = sorted(
            {n for b in builds.values() for n in b}, key=lambda n: -max(b.get(n, 0) for b in builds.values())
        )
        lines += [
            "",
            "## Full build per model (run_results.json, median s over the rounds)",
            "",
            "| model | " + " | ".join(labels) + " |",
            "|---|" + "---|" * len(labels),
        ]
        for n in names:
            cells = [f"{builds[lbl][n]:.2f}" if n in builds[lbl] else "–" for lbl in labels]
            lines.append(f"| {n} | " + " | ".join(cells) + " |")
    if res.get("marts"):
        lines += ["", "## Marts against the baseline (after the first round's full build)", ""]
        for label, rep in res["marts"].items():
            lines.append(
                f"- {label}: {len(rep['identical'])} identical; different: {', '.join(rep['different']) or 'none'}; "
                f"only in {res['baseline']}: {', '.join(rep['only_in_baseline']) or 'none'}; "
                f"only in {label}: {', '.join(rep['only_in_other']) or 'none'}"
            )
            for t in rep["different"]:
                e = rep["tables"][t]
                cols = ", ".join(f"{c} {n:,}" for c, n in e.get("columns_differ", {}).items())
                lines.append(
                    f"  - {t}: rows {e['rows'][0]:,} / {e['rows'][1]:,}; rows differing in {cols or 'n/a'}"
                )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--commit", action="append", required=True, help="LABEL=PATH (a checkout with its .venv)")
    ap.add_argument("--scale", type=int, default=100)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--cycles", type=int, default=3, help="cycles a round (the first is reported apart)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/duckreg-bench"))
    ap.add_argument("--name", default="duckdb-regression-1m")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument(
        "--marts-only",
        action="store_true",
        help="compare the marts a finished run left again, into its results",
    )
    ap.add_argument(
        "--resume",
        action="store_true",
        help="--rounds more rounds of import, full build and cycles on the warehouses a first run left, "
        "added to its results (enrichment is not repeated)",
    )
    a = ap.parse_args()
    if os.environ.get("TERTULIA_DUCKDB_MEMORY_LIMIT"):
        sys.exit("TERTULIA_DUCKDB_MEMORY_LIMIT is set: unset it, the commits are measured as shipped")
    commits = {}
    for spec in a.commit:
        label, _, path = spec.partition("=")
        repo = Path(path).resolve()
        if not (repo / ".venv" / "bin" / "python").exists():
            sys.exit(f"--commit {spec}: no {repo}/.venv (run `make install` in that checkout)")
        commits[label] = repo
    labels = list(commits)
    if a.marts_only:
        res = json.loads((a.out / f"{a.name}.json").read_text(encoding="utf-8"))
        # a run stopped as a round began left that round empty
        res["rounds"] = [r for r in res["rounds"] if set(r) - {"order", "from_first_build"}]
        res["rounds_done"] = len(res["rounds"])
        res["marts"] = marts(a.work, labels)
        (a.out / f"{a.name}.json").write_text(json.dumps(res, indent=2, default=str), encoding="utf-8")
        (a.out / f"{a.name}.md").write_text(markdown(res), encoding="utf-8")
        return
    a.work.mkdir(parents=True, exist_ok=True)
    shared = generate(a.scale, a.days, a.work)
    cycle_bundles = [new_comments_bundle(shared, i) for i in range(a.cycles)]
    works = {}
    for label in commits:
        works[label] = a.work / f"commit-{label}"
        works[label].mkdir(exist_ok=True)
        link_bundle(shared / "bundle", works[label] / "bundle")

    def memory_limit(repo: Path) -> str:
        if (repo / "tertulia" / "resources.py").exists():
            return "3 GB at most (tertulia.resources: a quarter of memory, at most 3 GB)"
        return "DuckDB's default (80% of memory)"

    res: dict = {
        "name": a.name,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "scale": a.scale,
        "cycles": a.cycles,
        "baseline": labels[0],
        "commits": {
            k: {"path": str(v), "commit": commit_of(v), "memory_limit": memory_limit(v)}
            for k, v in commits.items()
        },
        "rounds": [],
        "build_models_runs": {k: [] for k in labels},
    }
    a.out.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        res["rounds_done"] = len(res["rounds"])
        first = res["rounds"][0].get("import", {}).get(labels[0]) if res["rounds"] else None
        res["comments"] = first[0].get("comments") if first else None
        res["summary"] = summary(res["rounds"], labels)
        res["build_models"] = {
            k: {n: statistics.median(r[n] for r in runs if n in r) for n in {n for r in runs for n in r}}
            for k, runs in res["build_models_runs"].items()
            if runs
        }
        (a.out / f"{a.name}.json").write_text(json.dumps(res, indent=2, default=str), encoding="utf-8")
        if res["summary"].get("import"):
            (a.out / f"{a.name}.md").write_text(markdown(res), encoding="utf-8")

    def step(name: str, phase: str, order: list[str], rnd: dict, args_for=None, where=None) -> None:
        for label in order:
            work, repo = (where or works)[label], commits[label]
            extra = args_for(label) if args_for else []
            print(f"{dt.datetime.now():%H:%M:%S} {name} {label} (load {os.getloadavg()[0]:.1f})", flush=True)
            r = measured(run_phase(phase, work, *extra, repo=repo))
            print(f"    {r['seconds']:.1f} s, CPU {r['cpu_seconds']:.1f} s", flush=True)
            rnd.setdefault(name, {}).setdefault(label, []).append(r)
            if phase == "build":
                res["build_models_runs"][label].append(model_seconds(work))
        save()

    def cycle_args(i: int):
        def args(label: str) -> list[str]:
            # the local Slack delivery (only in newer phase.py) is left out: CPU seconds of the cycle alone
            no_delivery = "--no-delivery" in (commits[label] / "bench" / "phase.py").read_text(
                encoding="utf-8"
            )
            return ["--bundle", str(cycle_bundles[i]), *(["--no-delivery"] if no_delivery else [])]

        return args

    if a.resume:
        # Further rounds on what the first one left: the import again into a scratch warehouse, then
        # each commit's warehouse as its first full build left it (after-build.duckdb: imported,
        # enriched, aged, built) for the full build again and the cycles. Scoring 1.2M comments at the
        # commits that score every row takes minutes each on a loaded machine: it is measured once.
        old = json.loads((a.out / f"{a.name}.json").read_text(encoding="utf-8"))
        res["rounds"], res["build_models_runs"], res["date"] = (
            old["rounds"],
            old["build_models_runs"],
            old["date"],
        )
        res["cycles"] = old["cycles"]
        start = len(res["rounds"])
        for r in range(start, start + a.rounds):
            order = labels[r % len(labels) :] + labels[: r % len(labels)]
            rnd = {"order": order, "from_first_build": True}
            res["rounds"].append(rnd)
            scratch = {}
            for label in order:
                scratch[label] = a.work / f"import-{label}"
                scratch[label].mkdir(exist_ok=True)
                link_bundle(shared / "bundle", scratch[label] / "bundle")
                fresh(scratch[label])
                fresh(works[label])
                shutil.copyfile(works[label] / "after-build.duckdb", works[label] / "warehouse.duckdb")
            step(
                "import",
                "import",
                order,
                rnd,
                lambda label, scratch=scratch: ["--bundle", str(scratch[label] / "bundle")],
                scratch,
            )
            step("build", "build", order, rnd)
            for i in range(a.cycles):
                step("first cycle" if i == 0 else "steady cycle", "cycle", order, rnd, cycle_args(i))
        res["marts"] = marts(a.work, labels)
        save()
        print(markdown(res))
        return

    for r in range(a.rounds):
        order = labels[r % len(labels) :] + labels[: r % len(labels)]
        rnd: dict = {"order": order}
        res["rounds"].append(rnd)
        for label in order:
            fresh(works[label])
        step("import", "import", order, rnd, lambda label: ["--bundle", str(works[label] / "bundle")])
        step("enrich", "enrich", order, rnd)
        step("age", "age", order, rnd)
        step("build", "build", order, rnd)
        if r == 0:
            for label in order:  # the marts as the full build left them, compared at the end (untimed)
                shutil.copyfile(works[label] / "warehouse.duckdb", works[label] / "after-build.duckdb")
        for i in range(a.cycles):
            step("first cycle" if i == 0 else "steady cycle", "cycle", order, rnd, cycle_args(i))
    res["marts"] = marts(a.work, labels)
    save()
    print(markdown(res))


if __name__ == "__main__":
    main()
