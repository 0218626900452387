"""Accuracy and macro-F1 of the sentiment engine per language and per class, against the engine it replaced.

    .venv/bin/python bench/sentiment_eval.py [--repeat 20] [--rounds 3] [--baseline-ref REF] [--errors dev]

Two labelled sets, written for the project:
- the **plain** set (bench/data/sentiment_eval.tsv: id, lang, label, text), mostly plainly worded
  comments. `dev` is the odd-numbered ids, `test` the even-numbered ones.
- the **hard** set (bench/data/sentiment_hard.tsv: id, lang, variety, class, label, split, text):
  sarcasm, complaints without a sentiment word, regional slang, code-switching, emoji-only comments,
  neutral questions with loaded words, and plain comments, in Spanish (Ecuador/Andes, Spain) and
  English (US, UK). Its `split` column was fixed, and committed, before any tuning: a row is `dev`
  when the first byte of the SHA-256 of its text is even (`hash_split`); the script refuses a file
  whose column disagrees, so no row can move between halves unnoticed.
- the **fresh** set (bench/data/sentiment_fresh.tsv: id, lang, variety, class, label, text), a blind
  check of the hard classes written and committed before the lexicon-4 round's tuning and never tuned
  on: no half, `--errors` never lists it (its split is `fresh`).
- the **new dev** set (bench/data/sentiment_newdev.tsv, the fresh set's columns), written and
  committed before the lexicon-5 round's rules for that round to tune on: all of it is `newdev`.
- the **blind** set (bench/data/sentiment_blind.tsv), written with the new dev set before any
  lexicon-5 rule and held out in that round (split `blind`); its errors were read at the end of
  the round, so since the lexicon-6 round it is development data.
- the **second blind** set (bench/data/sentiment_blind2.tsv), written and committed before any
  lexicon-6 rule and never tuned on (split `blind2`).
Tuning may read the dev halves, the new dev set and the (first) blind set; the test halves, the fresh
set and the second blind set are what the figures report. `--tuning` scores the tuned splits alone
(the other rows are dropped before scoring: nothing of them is computed or printed), so a tuning
round can run as often as it likes and the held-out sets once, at its end.

Per class, macro-F1 averages the F1 of the labels that class's gold labels use (a class whose
comments are all negative is scored on negative alone, instead of being dragged down by the F1 of
labels it cannot have).

The engine it replaced (`--baseline-ref`, a git revision) is checked out from git into a temporary
folder; each engine runs in its own subprocess on the same sets, in the same run, so the two are
compared on the same data and under the same machine load. Throughput is the whole enrichment (language, sentiment,
intent, priority, keywords) in comments per second over both sets repeated `--repeat` times, and
the sentiment step alone; the rounds alternate the engines and the best round of each is kept (other
work on the machine only ever slows a round down). Results: bench/results/sentiment_eval.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LABELS = ("negative", "neutral", "positive")
HARD_CLASSES = ("sarcasm", "complaint", "slang", "codeswitch", "emoji", "question")
CLASSES = (*HARD_CLASSES, "plain")
LANGS = ("es", "en")
PLAIN_SET = ROOT / "bench/data/sentiment_eval.tsv"
HARD_SET = ROOT / "bench/data/sentiment_hard.tsv"
# The lexicon-5 engine, as it was before the lexicon-6 round of issue 22 (lexicon-4 was c43ade6,
# lexicon-3 302ee3e, lexicon-2 1723ae7, lexicon-1 6dfde00).
BASELINE_REF = "79dcef7"
FRESH_SET = ROOT / "bench/data/sentiment_fresh.tsv"
NEWDEV_SET = ROOT / "bench/data/sentiment_newdev.tsv"
BLIND_SET = ROOT / "bench/data/sentiment_blind.tsv"
BLIND2_SET = ROOT / "bench/data/sentiment_blind2.tsv"
# The splits the figures report, in the order they are printed; `--errors dev` lists TUNED_SPLITS.
SPLITS = ("test", "dev", "newdev", "fresh", "blind", "blind2")
TUNED_SPLITS = ("dev", "newdev", "blind")
HARD_HEADER = ["id", "lang", "variety", "class", "label", "split", "text"]
FRESH_HEADER = ["id", "lang", "variety", "class", "label", "text"]


def read_set(path: Path) -> list[dict[str, str]]:
    """The plain set; each row gets its split from its id's parity."""
    rows = []
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].split("\t") != ["id", "lang", "label", "text"]:
        raise SystemExit(f"{path}:1: expected the header 'id<TAB>lang<TAB>label<TAB>text'")
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split("\t", 3)
        if len(parts) != 4 or parts[2] not in LABELS:
            raise SystemExit(
                f"{path}:{lineno}: expected id, lang, label ({'/'.join(LABELS)}), text; got {line!r}"
            )
        row = dict(zip(("id", "lang", "label", "text"), parts, strict=True))
        row["split"] = split_of(row["id"])
        rows.append(row)
    return rows


def hash_split(text: str) -> str:
    """The hard set's half of a text: a property of the text alone, so adding rows moves no other row."""
    return "dev" if hashlib.sha256(text.encode("utf-8")).digest()[0] % 2 == 0 else "test"


def read_hard_set(path: Path, header: list[str] = HARD_HEADER, split: str = "fresh") -> list[dict[str, str]]:
    """The hard set, or with FRESH_HEADER a set without a split column (the fresh, new dev or blind
    set: every row's split is `split`). Lines starting with "#" before the column header say when and
    how the set was written."""
    rows = []
    lines = path.read_text(encoding="utf-8").splitlines()
    first = next((k for k, line in enumerate(lines) if not line.startswith("#")), len(lines))
    if first == len(lines) or lines[first].split("\t") != header:
        raise SystemExit(f"{path}:{first + 1}: expected the header {'<TAB>'.join(header)!r}")
    seen: dict[str, int] = {}
    for lineno, line in enumerate(lines[first + 1 :], start=first + 2):
        if not line.strip():
            continue
        parts = line.split("\t", len(header) - 1)
        if len(parts) != len(header):
            raise SystemExit(
                f"{path}:{lineno}: expected {len(header)} tab-separated fields ({', '.join(header)})"
            )
        row = dict(zip(header, parts, strict=True))
        row.setdefault("split", split)
        for key, allowed in (
            ("lang", LANGS),
            ("class", CLASSES),
            ("label", LABELS),
            ("split", ("dev", "test") if "split" in header else (split,)),
        ):
            if row[key] not in allowed:
                raise SystemExit(f"{path}:{lineno}: {key} {row[key]!r} is not one of {', '.join(allowed)}")
        if "split" in header and row["split"] != hash_split(row["text"]):
            raise SystemExit(
                f"{path}:{lineno}: split {row['split']!r} disagrees with the hash of the text "
                f"({hash_split(row['text'])!r}); the halves are fixed by hash_split, do not move rows"
            )
        if row["text"] in seen:
            raise SystemExit(f"{path}:{lineno}: the same text as line {seen[row['text']]}")
        seen[row["text"]] = lineno
        rows.append(row)
    return rows


def split_of(row_id: str) -> str:
    digits = "".join(ch for ch in row_id if ch.isdigit())
    return "dev" if int(digits or 0) % 2 else "test"


def metrics(gold: list[str], pred: list[str], labels: tuple[str, ...] = LABELS) -> dict[str, float]:
    """Accuracy, and F1 per label of `labels` and their mean (macro-F1)."""
    n = len(gold)
    acc = sum(g == p for g, p in zip(gold, pred, strict=True)) / n if n else 0.0
    f1s = {}
    for lab in labels:
        tp = sum(g == lab and p == lab for g, p in zip(gold, pred, strict=True))
        fp = sum(g != lab and p == lab for g, p in zip(gold, pred, strict=True))
        fn = sum(g == lab and p != lab for g, p in zip(gold, pred, strict=True))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s[lab] = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {
        "n": n,
        "accuracy": round(acc, 4),
        "macro_f1": round(sum(f1s.values()) / len(labels), 4) if labels else 0.0,
        **{f"f1_{k}": round(v, 4) for k, v in f1s.items()},
    }


def class_metrics(gold: list[str], pred: list[str]) -> dict[str, float]:
    return metrics(gold, pred, tuple(lab for lab in LABELS if lab in gold))


def report(rows: list[dict[str, str]], preds: list[str], by_class: bool) -> dict:
    """Figures per split (test, dev) and language, and per class when the set has classes."""
    out: dict = {}
    for split in SPLITS:
        part = [i for i, r in enumerate(rows) if r["split"] == split]
        if not part:
            continue
        for lang in LANGS:
            idx = [i for i in part if rows[i]["lang"] == lang]
            out.setdefault(split, {})[lang] = metrics(
                [rows[i]["label"] for i in idx], [preds[i] for i in idx]
            )
        if by_class:
            for cls in CLASSES:
                for lang in (*LANGS, "both"):
                    idx = [i for i in part if rows[i]["class"] == cls and lang in (rows[i]["lang"], "both")]
                    m = class_metrics([rows[i]["label"] for i in idx], [preds[i] for i in idx])
                    out[split].setdefault("classes", {}).setdefault(cls, {})[lang] = m
    return out


# --- the part that runs against one engine (this checkout's, or the baseline's in a subprocess) ---


def engine_run(sets: dict[str, list[dict[str, str]]], repeat: int, measure: bool = True) -> dict:
    """Labels and scores of every row of `sets`, and throughput, with the `enrichment` on sys.path."""
    from enrichment.annotate import Annotator
    from enrichment.language import detect_languages
    from enrichment.sentiment import LexiconSentiment, label

    model = LexiconSentiment()
    out: dict = {"engine": model.version, "sets": {}}
    all_texts: list[str] = []
    all_langs: list[str] = []
    for name, rows in sets.items():
        texts = [r["text"] for r in rows]
        # Scored with the language the detector finds, as in the pipeline, not the gold language.
        langs = detect_languages(texts, preferred=LANGS)
        scores = [model.score_one(t, lang) for t, lang in zip(texts, langs, strict=True)]
        out["sets"][name] = {"languages": langs, "scores": scores, "labels": [label(s) for s in scores]}
        all_texts += texts
        all_langs += langs
    if measure:
        texts = all_texts * repeat
        langs = all_langs * repeat
        annotator = Annotator({"es": ["estafa", "reembolso"], "en": ["scam", "refund"]})
        annotator.annotate(texts[:50], ["comment"] * 50)  # language models load on first use
        t0, c0 = time.perf_counter(), time.process_time()
        annotator.annotate(texts, ["comment"] * len(texts))
        whole, whole_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        for t, lang in zip(texts, langs, strict=True):
            model.score_one(t, lang)
        alone, alone_cpu = time.perf_counter() - t0, time.process_time() - c0
        n = len(texts)
        out["throughput"] = {
            "comments": n,
            "enrichment_per_second": round(n / whole),
            "sentiment_per_second": round(n / alone),
            # CPU time (all threads of the process): what the work costs, whatever else runs.
            "enrichment_per_cpu_second": round(n / whole_cpu),
            "sentiment_per_cpu_second": round(n / alone_cpu),
        }
    return out


def _checkout(ref: str, into: Path) -> None:
    """`enrichment/` as of `ref`, extracted under `into` (git archive: no work tree is touched)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "enrichment"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise RuntimeError(f"git archive {ref} enrichment failed: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")


def worker_run(root: Path, what: str, args: argparse.Namespace, measure: bool) -> dict:
    """`engine_run` in a fresh interpreter with the `enrichment` package found under `root`.

    Both engines are run this way, so that neither is measured in a process the other has warmed
    or filled.
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(root), "--repeat", str(args.repeat)]
    cmd += ["--plain", str(args.plain), "--hard", str(args.hard), "--fresh", str(args.fresh)]
    cmd += ["--newdev", str(args.newdev), "--blind", str(args.blind), "--blind2", str(args.blind2)]
    if args.tuning:
        cmd.append("--tuning")
    if not measure:
        cmd.append("--no-throughput")
    done = subprocess.run(
        cmd, capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": ""}
    )
    if done.returncode != 0:
        raise RuntimeError(f"the {what} engine failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def fired(model, text: str, language: str) -> str:
    """The lexicon entries and pattern cues of a text, and the rule decisions, for error analysis."""
    _, entries = model.analyse(text, language)
    parts = [",".join(f"{k}={v:g}" for k, v in e.kinds.items()) + f"@{e.position}" for e in entries]
    return f"[{language}] " + " | ".join(parts) if parts else f"[{language}] nothing"


def _load_sets(args: argparse.Namespace) -> dict[str, list[dict[str, str]]]:
    sets = {
        "plain": read_set(args.plain),
        "hard": read_hard_set(args.hard),
        "fresh": read_hard_set(args.fresh, FRESH_HEADER),
        "newdev": read_hard_set(args.newdev, FRESH_HEADER, "newdev"),
        "blind": read_hard_set(args.blind, FRESH_HEADER, "blind"),
        "blind2": read_hard_set(args.blind2, FRESH_HEADER, "blind2"),
    }
    if args.tuning:  # the held-out rows are dropped before scoring: nothing of them is computed
        sets = {name: [r for r in rows if r["split"] in TUNED_SPLITS] for name, rows in sets.items()}
        sets = {name: rows for name, rows in sets.items() if rows}
    return sets


def _fmt(m: dict) -> str:
    return f"{m['n']:>4} {m['accuracy']:>6.3f} {m['macro_f1']:>6.3f}"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plain", type=Path, default=PLAIN_SET)
    ap.add_argument("--hard", type=Path, default=HARD_SET)
    ap.add_argument("--fresh", type=Path, default=FRESH_SET)
    ap.add_argument("--newdev", type=Path, default=NEWDEV_SET)
    ap.add_argument("--blind", type=Path, default=BLIND_SET)
    ap.add_argument("--blind2", type=Path, default=BLIND2_SET)
    ap.add_argument(
        "--tuning",
        action="store_true",
        help="score the dev halves, the new dev set and the first blind set only (tuning runs)",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/sentiment_eval.json")
    ap.add_argument("--repeat", type=int, default=20, help="copies of both sets scored for the throughput")
    ap.add_argument("--rounds", type=int, default=3, help="throughput rounds per engine (the best is kept)")
    ap.add_argument("--baseline-ref", default=BASELINE_REF, help="git revision of the engine to compare with")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--no-throughput", action="store_true")
    # Only the dev halves: the test halves and the fresh set measure what tuning never read.
    ap.add_argument(
        "--errors",
        choices=("dev",),
        help="print the misclassified comments of the tuned splits (dev halves, new dev set, first blind set), "
        "and the rules that fired",
    )
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # internal: run the engine found there
    args = ap.parse_args(argv)

    if args.worker is not None:
        sys.path.insert(0, str(args.worker))
        sys.path.append(str(ROOT))  # the rest of the project (tertulia.vocabulary), found after it
        # The project is installed in editable mode, whose import hook outranks sys.path: drop it, so
        # `enrichment` is the copy under --worker, and check that it is.
        # The finder is a class (its classmethods find modules): its own __module__ names it, not
        # its type's. It must go, or a module missing from the old copy is found in this checkout.
        sys.meta_path[:] = [
            f for f in sys.meta_path if "editable" not in getattr(f, "__module__", type(f).__module__).lower()
        ]
        import enrichment

        if not Path(enrichment.__path__[0]).resolve().is_relative_to(args.worker.resolve()):
            raise SystemExit(f"the worker imported {enrichment.__path__[0]}, not {args.worker}")
        result = engine_run(_load_sets(args), args.repeat, not args.no_throughput)
        print(json.dumps(result))
        return result

    sets = _load_sets(args)
    measure = not args.no_throughput
    runs: dict[str, list[dict]] = {"current": [], "baseline": []}
    with tempfile.TemporaryDirectory(prefix="sentiment-baseline-") as tmp:
        baseline_ok = not args.no_baseline
        if baseline_ok:
            try:
                _checkout(args.baseline_ref, Path(tmp))
            except RuntimeError as exc:
                print(f"no baseline: {exc}")
                baseline_ok = False
        for _ in range(args.rounds if measure else 1):
            if baseline_ok:
                runs["baseline"].append(worker_run(Path(tmp), "baseline", args, measure))
            runs["current"].append(worker_run(ROOT, "current", args, measure))

    results: dict = {
        # A community's own labelled sets may live anywhere: their path as given when outside the repository.
        "data": {
            name: str(p.resolve().relative_to(ROOT) if p.resolve().is_relative_to(ROOT) else p)
            for name, p in (
                ("plain", args.plain),
                ("hard", args.hard),
                ("fresh", args.fresh),
                ("newdev", args.newdev),
                ("blind", args.blind),
                ("blind2", args.blind2),
            )
        },
        "engines": {},
    }
    for who, rs in runs.items():
        if not rs:
            continue
        first = rs[0]
        entry: dict = {"engine": first["engine"]}
        for name, rows in sets.items():
            entry[name] = report(rows, first["sets"][name]["labels"], by_class=name != "plain")
        if measure:
            entry["throughput"] = {
                "comments": rs[0]["throughput"]["comments"],
                **{k: max(r["throughput"][k] for r in rs) for k in rs[0]["throughput"] if k != "comments"},
                "rounds": len(rs),
            }
        results["engines"][who] = entry
        if who == "current":
            lang_ok = sum(
                d == r["lang"]
                for d, r in zip(first["sets"]["plain"]["languages"], sets["plain"], strict=True)
            ) / len(sets["plain"])
            results["language_accuracy_plain"] = round(lang_ok, 4)
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"

    cur = results["engines"]["current"]
    base = results["engines"].get("baseline")
    head = f"{'':28} {'n':>4} {'acc':>6} {'mF1':>6}"
    print(
        f"engine {cur['engine']}" + (f" (baseline {base['engine']} at {args.baseline_ref})" if base else "")
    )
    print(head + ("   baseline acc / mF1" if base else ""))
    for name in sets:
        for split in cur[name]:  # the halves a set has: a community's own set may have one
            for lang in LANGS:
                line = f"{name + ' ' + split + ' ' + lang:28} {_fmt(cur[name][split][lang])}"
                if base:
                    b = base[name][split][lang]
                    line += f"   {b['accuracy']:.3f} / {b['macro_f1']:.3f}"
                print(line)
    for name, split in (
        ("hard", "test"),
        ("hard", "dev"),
        ("newdev", "newdev"),
        ("fresh", "fresh"),
        ("blind", "blind"),
        ("blind2", "blind2"),
    ):
        if name not in cur or split not in cur[name]:
            continue
        print(f"{name} {split}, per class (macro-F1 es / en / both; baseline es / en)")
        for cls in CLASSES:
            c = cur[name][split]["classes"][cls]
            if not c["both"]["n"]:
                continue
            line = f"  {cls:12} {c['es']['macro_f1']:.3f} / {c['en']['macro_f1']:.3f} / {c['both']['macro_f1']:.3f}"
            line += f"  n={c['es']['n']}/{c['en']['n']}"
            if base:
                b = base[name][split]["classes"][cls]
                line += f"   baseline {b['es']['macro_f1']:.3f} / {b['en']['macro_f1']:.3f}"
            print(line)
    if measure:
        t = cur["throughput"]
        print(f"throughput, comments per second (best of {t['rounds']} rounds of {t['comments']} comments):")
        b = base["throughput"] if base else None
        for key, what in (
            ("enrichment_per_second", "enrichment, wall clock"),
            ("enrichment_per_cpu_second", "enrichment, CPU time"),
            ("sentiment_per_second", "sentiment alone, wall clock"),
            ("sentiment_per_cpu_second", "sentiment alone, CPU time"),
        ):
            line = f"  {what:28} {t[key]:>8,}"
            if b:
                line += f"   baseline {b[key]:>8,}  ({t[key] / b[key] - 1:+.0%})"
            print(line)

    if args.errors:
        from enrichment.sentiment import LexiconSentiment

        model = LexiconSentiment()
        for name, rows in sets.items():
            labels = runs["current"][0]["sets"][name]["labels"]
            scores = runs["current"][0]["sets"][name]["scores"]
            langs = runs["current"][0]["sets"][name]["languages"]
            for r, s, p, lang in zip(rows, scores, labels, langs, strict=True):
                if r["split"] in TUNED_SPLITS and p != r["label"]:
                    cls = r.get("class", "plain")
                    print(f"  {r['id']:7} {cls:10} gold={r['label']:8} pred={p:8} {s:+.3f} {r['text']}")
                    print(f"          fired: {fired(model, r['text'], lang)}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return results


if __name__ == "__main__":
    main()
