"""Accuracy and macro-F1 of the sentiment engine per language, on the project's labelled comments.

    .venv/bin/python bench/sentiment_eval.py [--data bench/data/sentiment_eval.tsv] [--repeat 30]

The set (bench/data/sentiment_eval.tsv: id, lang, label, text) was written for the project after the
lexicons. It is split in two: `dev` (odd-numbered ids) is the half the engine's generic rules and the
label threshold may be checked against; `test` (even-numbered ids) is the held-out half whose figures
are reported. Throughput is the whole enrichment (language, sentiment, intent, keywords) in
comments per second, over the set repeated `--repeat` times. Results: bench/results/sentiment_eval.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from enrichment.annotate import Annotator  # noqa: E402
from enrichment.language import detect_languages  # noqa: E402
from enrichment.sentiment import LexiconSentiment, label  # noqa: E402

LABELS = ("negative", "neutral", "positive")


def read_set(path: Path) -> list[dict[str, str]]:
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
        rows.append(dict(zip(("id", "lang", "label", "text"), parts, strict=True)))
    return rows


def split_of(row_id: str) -> str:
    digits = "".join(ch for ch in row_id if ch.isdigit())
    return "dev" if int(digits or 0) % 2 else "test"


def metrics(gold: list[str], pred: list[str]) -> dict[str, float]:
    n = len(gold)
    acc = sum(g == p for g, p in zip(gold, pred, strict=True)) / n if n else 0.0
    f1s = {}
    for lab in LABELS:
        tp = sum(g == lab and p == lab for g, p in zip(gold, pred, strict=True))
        fp = sum(g != lab and p == lab for g, p in zip(gold, pred, strict=True))
        fn = sum(g == lab and p != lab for g, p in zip(gold, pred, strict=True))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s[lab] = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {
        "n": n,
        "accuracy": round(acc, 4),
        "macro_f1": round(sum(f1s.values()) / len(LABELS), 4),
        **{f"f1_{k}": round(v, 4) for k, v in f1s.items()},
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "bench/data/sentiment_eval.tsv")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/sentiment_eval.json")
    ap.add_argument(
        "--repeat", type=int, default=30, help="copies of the set scored for the throughput figure"
    )
    ap.add_argument("--errors", action="store_true", help="print the dev half's misclassified comments")
    args = ap.parse_args(argv)

    rows = read_set(args.data)
    model = LexiconSentiment()
    # Scored with the language the detector finds, as in the pipeline, not the gold language.
    detected = detect_languages([r["text"] for r in rows], preferred=("es", "en"))
    scores = [model.score_one(r["text"], lang) for r, lang in zip(rows, detected, strict=True)]
    preds = [label(s) for s in scores]

    results: dict = {"engine": model.version, "data": str(args.data.relative_to(ROOT)), "splits": {}}
    print(f"{'split':6} {'lang':4} {'n':>4} {'accuracy':>9} {'macro-F1':>9}")
    for split in ("test", "dev", "all"):
        for lang in ("es", "en"):
            idx = [
                i
                for i, r in enumerate(rows)
                if r["lang"] == lang and (split == "all" or split_of(r["id"]) == split)
            ]
            m = metrics([rows[i]["label"] for i in idx], [preds[i] for i in idx])
            results["splits"].setdefault(split, {})[lang] = m
            print(f"{split:6} {lang:4} {m['n']:>4} {m['accuracy']:>9.3f} {m['macro_f1']:>9.3f}")
    lang_ok = sum(d == r["lang"] for d, r in zip(detected, rows, strict=True)) / len(rows)
    results["language_accuracy"] = round(lang_ok, 4)
    print(f"language detection accuracy (es/en set): {lang_ok:.3f}")

    if args.errors:
        for r, s, p in zip(rows, scores, preds, strict=True):
            if split_of(r["id"]) == "dev" and p != r["label"]:
                print(f"  {r['id']} gold={r['label']:8} pred={p:8} {s:+.3f} {r['text']}")

    texts = [r["text"] for r in rows] * args.repeat
    annotator = Annotator({"es": ["estafa", "reembolso"], "en": ["scam", "refund"]})
    annotator.annotate(texts[:50], ["comment"] * 50)  # language models load on first use
    t0 = time.perf_counter()
    annotator.annotate(texts, ["comment"] * len(texts))
    elapsed = time.perf_counter() - t0
    results["throughput"] = {
        "comments": len(texts),
        "seconds": round(elapsed, 3),
        "comments_per_second": round(len(texts) / elapsed),
        "what": "language + sentiment + intent + priority + keywords, one process",
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
    }
    print(f"throughput: {len(texts) / elapsed:,.0f} comments/s ({len(texts)} comments in {elapsed:.2f} s)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return results


if __name__ == "__main__":
    main()
