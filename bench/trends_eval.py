"""Do planted topics come out as rising terms, and how much of the rising list is noise?

    .venv/bin/python bench/trends_eval.py [--days 90] [--seed 7] [--per-topic 30 10] [--work DIR]

Writes the sample community (tertulia.sample, unchanged), then plants three topics in it, each in
its own local week before the planted crisis, as member comments appended to the bundle's
comments.jsonl (so they go through the importer, enrichment and dbt like any export):
- product: a new product people praise ("el nuevo cold brew nitro está buenísimo");
- delivery: a delivery problem people complain about ("mi pedido llegó con una semana de retraso");
- campaign: a hashtag campaign (#MiTertuliaEnCasa).
Each topic is `--per-topic` messages from as many distinct existing members, spread over its week,
(by default a run with 30 and one with 10, a loud and a faint topic),
three in four in Spanish, on the week's posts. The pipeline then runs as in the demo (import, enrich,
dbt as of the sample's `now`) and the week's "Rising this week" list (tertulia.trends.rising_terms,
the top 10 the weekly report draws from) is read for each planted week.

- found: the topic has an entry in the top 10 of its week (its rank is reported);
- noise: top-10 entries of which fewer than half of the week's messages are planted ones (any topic).
Results go to bench/results/trends_eval.json and between the markers of docs/trends.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tertulia.config import example_config_in  # noqa: E402

DOC = ROOT / "docs/trends.md"
START, END = "<!-- trends-eval:start -->", "<!-- trends-eval:end -->"
TOP = 10

# (language, text) per topic; several wordings each, as people write them.
TOPICS: dict[str, list[tuple[str, str]]] = {
    "product": [
        ("es", "El nuevo cold brew nitro está buenísimo 😍"),
        ("es", "Probé el cold brew nitro y me encantó, súper cremoso"),
        ("es", "¿Dónde consigo el cold brew nitro? Me lo recomendaron mucho"),
        ("es", "Ese cold brew nitro es lo mejor que han sacado"),
        ("es", "Me tomé dos latas de nitro hoy, adictivo"),
        ("es", "El nitro frío con la espuma es una maravilla"),
        ("en", "The new nitro cold brew is amazing"),
        ("en", "Tried the nitro cold brew today, so smooth and creamy"),
    ],
    "delivery": [
        ("es", "Mi pedido llegó con una semana de retraso, qué mal"),
        ("es", "Otra vez retraso en la entrega, nadie me avisa nada"),
        ("es", "Hice un pedido hace diez días y sigue sin llegar, pésimo"),
        ("es", "El courier dice que el paquete está retrasado, ¿qué pasa?"),
        ("es", "Retraso tras retraso con los pedidos a domicilio, decepcionante"),
        ("es", "Pagué envío express y el pedido llegó tarde igual"),
        ("en", "My order is late again, still no tracking update"),
        ("en", "Delivery delayed for a week, really disappointed"),
    ],
    "campaign": [
        ("es", "Mi mañana con el V60 #MiTertuliaEnCasa"),
        ("es", "Así preparo mi café del domingo #MiTertuliaEnCasa ☕"),
        ("es", "Participando con mi prensa francesa #MiTertuliaEnCasa"),
        ("es", "#MiTertuliaEnCasa con mis papás, café y pan de yuca"),
        ("es", "Mi rincón favorito para el café #MiTertuliaEnCasa"),
        ("en", "Sunday pour over at home #MiTertuliaEnCasa"),
        ("en", "My little coffee corner #MiTertuliaEnCasa"),
    ],
}


def plant(bundle: Path, facts, rng: random.Random, per_topic: int) -> dict[str, dict]:
    """Append the planted comments to the bundle; returns topic -> {week, comment_ids}."""
    from tertulia.sample import TZ

    comments = [
        json.loads(line) for line in (bundle / "comments.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    posts = [json.loads(line) for line in (bundle / "posts.jsonl").read_text(encoding="utf-8").splitlines()]
    brand = {p["account_id"] for p in posts}
    members: dict[str, list[tuple[str, str]]] = {}
    for c in comments:
        if c["author_id"] not in brand and c.get("channel") == "comment":
            members.setdefault(c["platform"], []).append((c["author_id"], c["author_name"]))
    crisis_local = facts.crisis_start.replace(tzinfo=dt.UTC).astimezone(TZ).date()
    crisis_week = crisis_local - dt.timedelta(days=crisis_local.weekday())
    planted: dict[str, dict] = {}
    lines = []
    for n, (topic, texts) in enumerate(TOPICS.items()):
        week = crisis_week - dt.timedelta(weeks=len(TOPICS) - n)
        week_posts = [
            p
            for p in posts
            if week
            <= dt.datetime.fromisoformat(p["published_at"]).astimezone(TZ).date()
            < week + dt.timedelta(days=6)
        ]
        authors: set[tuple[str, str]] = set()
        ids = []
        for i in range(per_topic):
            post = rng.choice(week_posts)
            pool = [
                m for m in dict.fromkeys(members[post["platform"]]) if (post["platform"], m[0]) not in authors
            ]
            author = rng.choice(pool)
            authors.add((post["platform"], author[0]))
            published = dt.datetime.fromisoformat(post["published_at"]).astimezone(TZ)
            end = dt.datetime.combine(week + dt.timedelta(days=7), dt.time(0), TZ)
            at = published + (end - published) * rng.uniform(0.02, 0.95)
            lang, text = texts[i % len(texts)] if i < len(texts) else rng.choice(texts)
            cid = f"{post['platform'][:2]}-plant-{topic}-{i:03d}"
            ids.append(f"{post['platform']}:{cid}")
            lines.append(
                json.dumps(
                    {
                        "platform": post["platform"],
                        "comment_id": cid,
                        "post_id": post["post_id"],
                        "parent_id": None,
                        "thread_id": cid,
                        "author_id": author[0],
                        "author_name": author[1],
                        "created_at": at.isoformat(timespec="seconds"),
                        "updated_at": at.isoformat(timespec="seconds"),
                        "message": text,
                        "channel": "comment",
                        "like_count": rng.randint(0, 5),
                    },
                    ensure_ascii=False,
                )
            )
        planted[topic] = {
            "week": week.isoformat(),
            "comment_keys": ids,
            "language_mix": [t[0] for t in texts],
        }
    with (bundle / "comments.jsonl").open("a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return planted


def evaluate(con, planted: dict[str, dict]) -> dict:
    from tertulia.trends import rising_terms

    all_planted = [k for p in planted.values() for k in p["comment_keys"]]
    out = {}
    for topic, p in planted.items():
        week = dt.date.fromisoformat(p["week"])
        top = rising_terms(con, "week", week, limit=TOP)
        entries = []
        for rank, t in enumerate(top, 1):
            share = con.execute(
                "select avg(case when comment_key in (select unnest(?::varchar[])) then 1.0 else 0.0 end) "
                "from intermediate.int_terms_mentioned where term = ? and created_week = ?",
                [all_planted, t.term, week],
            ).fetchone()[0]
            own = con.execute(
                "select avg(case when comment_key in (select unnest(?::varchar[])) then 1.0 else 0.0 end) "
                "from intermediate.int_terms_mentioned where term = ? and created_week = ?",
                [p["comment_keys"], t.term, week],
            ).fetchone()[0]
            entries.append(
                {
                    "rank": rank,
                    "term": t.surface,
                    "trend": t.trend,
                    "score": round(t.score, 2),
                    "authors": t.authors,
                    "baseline_authors": t.baseline_authors,
                    "planted_share": round(float(share or 0), 2),
                    "is_topic": float(own or 0) >= 0.5,
                    "is_noise": float(share or 0) < 0.5,
                }
            )
        found = [e for e in entries if e["is_topic"]]
        out[topic] = {
            "week": p["week"],
            "planted_messages": len(p["comment_keys"]),
            "found": bool(found),
            "first_rank": found[0]["rank"] if found else None,
            "first_term": found[0]["term"] if found else None,
            "top_entries": len(entries),
            "noise": sum(e["is_noise"] for e in entries),
            "top": entries,
        }
    return out


def run(args, per_topic: int) -> dict:
    from tertulia import pipeline, warehouse
    from tertulia.sample import write_sample

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="tertulia-trends-eval-"))
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    config = example_config_in(work)
    facts = write_sample(work / "bundle", days=args.days, seed=args.seed)
    planted = plant(work / "bundle", facts, random.Random(args.seed), per_topic)
    t = time.perf_counter()
    pipeline.prepare_warehouse(config)
    pipeline.import_files(config)
    pipeline.enrich(config)
    pipeline.build(config, select="+fct_trending_terms", as_of=facts.now, run_tests=False)
    seconds = time.perf_counter() - t
    con = warehouse.connect(config.warehouse_path, read_only=True)
    try:
        topics = evaluate(con, planted)
    finally:
        con.close()
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "days": args.days,
        "seed": args.seed,
        "per_topic": per_topic,
        "settings": config.trends.model_dump(),
        "pipeline_seconds": round(seconds, 1),
        "topics": topics,
        "found": sum(t["found"] for t in topics.values()),
        "noise": sum(t["noise"] for t in topics.values()),
        "top_entries": sum(t["top_entries"] for t in topics.values()),
    }


def to_markdown(results: list[dict]) -> str:
    first = results[0]
    lines = [
        f"Sample of {first['days']} days (seed {first['seed']}); settings: {first['settings']['min_authors']} "
        f"members minimum, {first['settings']['baseline_periods']}-week baseline, score ≥ "
        f"{first['settings']['min_score']}, prior weight {first['settings']['prior_weight']}. A week's list holds "
        f"only emerging and rising terms, so it can be shorter than {TOP}.",
    ]
    for result in results:
        lines += ["", _result_markdown(result)]
    return "\n".join(lines)


def _result_markdown(result: dict) -> str:
    lines = [
        f"### {result['per_topic']} planted messages per topic, from as many members",
        "",
        f"**{result['found']} of {len(result['topics'])} planted topics in the top {TOP} of their week; "
        f"{result['noise']} of the {result['top_entries']} top-{TOP} entries are noise.**",
        "",
        "| topic | week | found | first entry (rank) | entries in the top 10 | noise |",
        "|---|---|---|---|---|---|",
    ]
    for name, t in result["topics"].items():
        first = f"{t['first_term']} ({t['first_rank']})" if t["found"] else "—"
        lines.append(
            f"| {name} | {t['week']} | {'yes' if t['found'] else 'no'} | {first} | {t['top_entries']} | {t['noise']} |"
        )
    lines += ["", "The top 10 of each planted week (planted share: of the term's messages that week):", ""]
    for name, t in result["topics"].items():
        lines.append(f"- {name}: " + ", ".join(
            f"{e['term']} ({e['trend']}, {e['authors']} members, {100 * e['planted_share']:.0f} % planted)"
            for e in t["top"]
        ))  # fmt: skip
    return "\n".join(lines)


def write_doc(results: list[dict]) -> None:
    text = DOC.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{DOC}: markers {START} / {END} not found; add them where the figures go")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{to_markdown(results)}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-topic", type=int, nargs="+", default=[30, 10])
    parser.add_argument("--work", help="keep the warehouse in this folder (emptied first)")
    parser.add_argument(
        "--print-only",
        action="store_true",
        help="print the figures; write neither the results file nor the doc",
    )
    args = parser.parse_args()
    results = [run(args, n) for n in args.per_topic]
    if not args.print_only:
        out = ROOT / "bench/results/trends_eval.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        write_doc(results)
    print(to_markdown(results))


if __name__ == "__main__":
    main()
