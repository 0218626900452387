"""Property-based bundles (Hypothesis): random bad values and layouts next to good rows.

For every generated bundle: rows in = rows landed + rows quarantined (nothing lost), a second import
changes nothing, and (for a few bundles, dbt being slow) the build after it makes every mart and the
alert step runs. `make test` runs a fixed seed (derandomize) and a bounded number of bundles;
`make fuzz` runs many more (TERTULIA_FUZZ_EXAMPLES, TERTULIA_FUZZ_BUILD_EXAMPLES).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.files import import_bundle
from tertulia import pipeline, warehouse
from tertulia.contract import ENTITIES

EXAMPLES = int(os.environ.get("TERTULIA_FUZZ_EXAMPLES", "20"))
BUILD_EXAMPLES = int(os.environ.get("TERTULIA_FUZZ_BUILD_EXAMPLES", "2"))
# `make fuzz` explores new bundles each time (TERTULIA_FUZZ_RANDOM=1; Hypothesis prints how to replay a
# failure); `make test` always tries the same ones.
DERANDOMIZE = os.environ.get("TERTULIA_FUZZ_RANDOM") != "1"
AS_OF = dt.datetime(2026, 11, 20, 12, 0)

COMMENT_COLUMNS = ENTITIES["comments"].column_names
# Values that must never land: (column, value). Each class of issue 21 and of the corpus.
BAD_VALUES = [
    ("created_at", "0001-06-01T00:00:00"),
    ("created_at", "1970-01-01T00:00:00Z"),
    ("created_at", "2026-03-01T10:00:00+25:00"),
    ("created_at", "2026-03-01T24:00:00"),
    ("created_at", "2026-03-01T10:00:00 America/New_York"),
    ("created_at", "2026-03-01"),
    ("created_at", "yesterday"),
    ("created_at", "2999-01-01T00:00:00Z"),
    ("created_at", ""),
    ("like_count", "99999999999999999999"),
    ("like_count", "9223372036854775807"),  # fits 64 bits, but two of a member's overflowed the marts' sums
    ("like_count", "1.000"),
    ("like_count", "10.000"),
    ("like_count", "-5"),
    ("like_count", "12k"),
    ("like_count", "1e3"),
    ("like_count", "0x10"),
    ("like_count", "1_000"),
    ("like_count", "12.5"),
    ("platform", "myspace"),
    ("channel", "tweet"),
    ("author_id", " "),
    ("message", "x" * 70_000),
    ("message", "nul \x00 byte"),
    ("notes", "y" * 70_000),  # an extra column over the text limit
]
# Whole-line problems of a JSON lines file (each line is one row in, quarantined).
BAD_JSON_LINES = [
    '{"platform": "youtube", "comment_id": ',
    '["not", "an", "object"]',
    "{{}",
]
FILE_NAMES = ["[ab].jsonl", "*.jsonl", "a?.jsonl", "2026-03-01.jsonl", "b.jsonl", "ab.jsonl"]

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
ids = st.text("abcdefghij0123456789", min_size=1, max_size=6)
padding = st.sampled_from(["", " ", "\t", "\u00a0"])


@dataclass
class Bundle:
    files: dict[str, str] = field(default_factory=dict)  # path in the bundle -> text
    rows_in: dict[str, int] = field(default_factory=dict)  # entity -> data rows written


@st.composite
def good_comment(draw, n: int) -> dict:
    cid = f"c{n}-{draw(ids)}"
    return {
        "platform": draw(st.sampled_from(["youtube", "instagram", "facebook"])),
        "comment_id": draw(padding) + cid + draw(padding),
        "post_id": "p1",
        "parent_id": None,
        "thread_id": None,
        "author_id": draw(st.sampled_from(["u1", "u2", "U1"])),
        "author_name": draw(text),
        "created_at": (
            dt.datetime(2026, 1, 1) + dt.timedelta(minutes=draw(st.integers(0, 400_000)))
        ).isoformat()
        + draw(st.sampled_from(["", "Z", "-05:00", "+0100"])),
        "message": draw(text),
        "channel": draw(st.sampled_from(["comment", "reply", "mention"])),
        "like_count": draw(
            st.sampled_from([None, "0", "7", "12.0", "999999999999"])
        ),  # the largest that lands
    }


@st.composite
def bundles(draw) -> Bundle:
    fmt = draw(st.sampled_from(["jsonl", "csv"]))
    rows: list[dict | str] = []
    for n in range(draw(st.integers(1, 12))):
        rec = draw(good_comment(n))
        kind = draw(st.sampled_from(["good", "good", "bad_value", "bad_line"]))
        if kind == "bad_value":
            col, value = draw(st.sampled_from(BAD_VALUES))
            rec[col] = value
        elif kind == "bad_line":
            rows.append(draw(st.sampled_from(BAD_JSON_LINES)) if fmt == "jsonl" else "ragged")
            continue
        rows.append(rec)
    bundle = Bundle(rows_in={"comments": len(rows)})
    if fmt == "jsonl":
        lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
        texts = [line + "\n" for line in lines]
    else:
        cols = [*COMMENT_COLUMNS, "notes"]
        texts = []
        for r in rows:
            out = io.StringIO()
            if isinstance(r, str):  # a ragged row: one field too many
                csv.writer(out, lineterminator="\r\n").writerow(["youtube", "r1", *[""] * len(cols)])
            else:
                csv.writer(out, lineterminator="\r\n").writerow([r.get(c) for c in cols])
            texts.append(out.getvalue())
    if draw(st.booleans()):
        # A folder of files named with glob characters, each row in one of them.
        names = draw(st.lists(st.sampled_from(FILE_NAMES), min_size=1, max_size=3, unique=True))
        names = [n.replace(".jsonl", "." + fmt) for n in names]
        parts: dict[str, list[str]] = {n: [] for n in names}
        for t in texts:
            parts[draw(st.sampled_from(names))].append(t)
        for name, part in parts.items():
            bundle.files[f"comments/{name}"] = _with_header(fmt, part)
    else:
        bundle.files[f"comments.{fmt}"] = _with_header(fmt, texts)
    # account_metrics: a day written as a timestamp, and Spanish thousands, next to good days.
    days = draw(st.lists(st.integers(1, 28), min_size=1, max_size=5, unique=True))
    lines = ["platform,account_id,date,followers,impressions,reach"]
    for d in days:
        date = f"2026-10-{d:02d}" + draw(st.sampled_from(["", "", "T10:00:00"]))
        followers = draw(st.sampled_from(["1200", "1.200", "99999999999999999999", ""]))
        lines.append(f"instagram,ig1,{date},{followers},10,10")
    bundle.files["account_metrics.csv"] = "\n".join(lines) + "\n"
    bundle.rows_in["account_metrics"] = len(days)
    return bundle


def _with_header(fmt: str, texts: list[str]) -> str:
    if fmt == "csv":
        # The rows end in CRLF (so a line break inside a value is quoted): the header too, as writers do.
        return ",".join([*COMMENT_COLUMNS, "notes"]) + "\r\n" + "".join(texts)
    return "".join(texts)


def _write(bundle: Bundle, root: Path) -> Path:
    if root.exists():
        shutil.rmtree(root)
    for rel, content in bundle.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8", newline="")
    return root


def _snapshot(con) -> tuple:
    raw = {
        e: con.execute(f"select * exclude (_batch_id, _loaded_at) from raw.{e} order by all").fetchall()
        for e in ("comments", "account_metrics")
    }
    held = con.execute(
        "select entity, source, source_line, rule from tertulia.quarantine where released_at is null order by all"
    ).fetchall()
    return raw, held


def _import_and_check(bundle: Bundle, config, root: Path, *, in_memory: bool = True) -> None:
    # In memory unless dbt reads the warehouse next: a file costs a checkpoint and an fsync per import.
    con = duckdb.connect() if in_memory else warehouse.connect(config.warehouse_path)
    for schema in warehouse.SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    try:
        report = import_bundle(con, _write(bundle, root), config)
        assert report.errors == [], report.errors
        for entity, rows_in in bundle.rows_in.items():
            landed = con.execute(f"select count(*) from raw.{entity}").fetchone()[0]
            held = con.execute(
                "select count(*) from tertulia.quarantine where entity = ? and released_at is null", [entity]
            ).fetchone()[0]
            assert rows_in == landed + held, (entity, rows_in, landed, held, report.render())
        first = _snapshot(con)
        again = import_bundle(con, root, config)
        assert _snapshot(con) == first
        assert all(r.inserted == 0 and r.updated == 0 for r in again.entities.values())
    finally:
        con.close()


def fuzz_settings(examples: int) -> settings:
    # The tmp_path-style fixtures are per test, not per example: each example makes its own folders.
    return settings(
        max_examples=examples,
        derandomize=DERANDOMIZE,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def _fresh(config) -> None:
    for p in config.warehouse_path.parent.glob(config.warehouse_path.name + "*"):
        p.unlink()


@fuzz_settings(EXAMPLES)
@given(bundle=bundles())
def test_connectors_fuzz_nothing_lost_and_a_second_import_changes_nothing(bundle, example_config):
    with tempfile.TemporaryDirectory() as tmp:
        _import_and_check(bundle, example_config, Path(tmp) / "bundle")


@pytest.mark.integration
@fuzz_settings(BUILD_EXAMPLES)
@given(bundle=bundles())
def test_connectors_fuzz_the_build_after_a_bad_bundle_makes_every_mart(bundle, example_config):
    _fresh(example_config)
    with tempfile.TemporaryDirectory() as tmp:
        _import_and_check(bundle, example_config, Path(tmp) / "bundle", in_memory=False)
    pipeline.prepare_warehouse(example_config)
    result = pipeline.build(example_config, as_of=AS_OF)
    assert result.success and not result.failures
    assert any(m.startswith("fct_") for m in result.models_built)
    pipeline.evaluate_and_send_alerts(example_config, now=AS_OF, dry_run=True)


@pytest.mark.integration
def test_connectors_every_bad_case_next_to_the_sample_lands_the_rest_and_the_run_succeeds(
    example_config, tmp_path
):
    """Issue 21's "done when": a bundle holding every row-level case next to good rows lands the good
    rows, quarantines the rest with reasons, and the build and alert step after it succeed."""
    from tertulia.sample import write_sample

    bundle = tmp_path / "bundle"
    facts = write_sample(bundle, days=20, seed=5, end=dt.date(2026, 11, 20))
    bad = []
    for i, (col, value) in enumerate(BAD_VALUES):
        rec = {c: None for c in COMMENT_COLUMNS} | {
            "platform": "instagram",
            "comment_id": f"bad-{i}",
            "author_id": "u1",
            "created_at": "2026-11-19T10:00:00",
            "channel": "comment",
        }
        bad.append(json.dumps(rec | {col: value}, ensure_ascii=False))
    bad += BAD_JSON_LINES
    bad.append(json.dumps({"platform": "instagram", "comment_id": "bad-key", "": "x"}))
    bad.append('{"platform": "instagram", "comment_id": "bad-dup", "message": "a", "message": "b"}')
    bad.append(json.dumps({"platform": "instagram", "comment_id": "bad-case", "Author_id": "u1"}))
    (bundle / "comments").mkdir()
    (bundle / "comments" / "[ab].jsonl").write_text("\n".join(bad) + "\n", encoding="utf-8")
    (bundle / "account_metrics").mkdir()
    (bundle / "account_metrics" / "*.csv").write_text(
        "platform,account_id,date,followers,impressions,reach\n"
        "instagram,ig-cafetertulia,2026-11-20T10:00:00,1,1,1\n"
        "instagram,ig-cafetertulia,2026-11-19,1.000,1,1\n"
        "instagram,ig-cafetertulia,2026-11-18,99999999999999999999,1,1\n"
        "instagram,ig-cafetertulia,2026-11-17,1,1,1,stray\n",
        encoding="utf-8",
    )
    # Blank counters (JSON "" or spaces) are unknown: they land, and staging reads them as NULL.
    (bundle / "post_metrics").mkdir()
    blank = {"platform": "youtube", "post_id": "blank-post", "captured_at": "2026-11-19T12:00:00-05:00"}
    (bundle / "post_metrics" / "blank.jsonl").write_text(
        json.dumps(blank | {"impressions": "", "reach": " ", "reactions": "1", "comments": "", "shares": ""})
        + "\n",
        encoding="utf-8",
    )
    report = pipeline.import_files(example_config, bundle)
    assert report.errors == []
    assert report.entities["post_metrics"].quarantined == 0
    held = report.entities["comments"].quarantined
    assert held == len(bad)
    assert report.entities["account_metrics"].quarantined == 4
    assert report.entities["comments"].inserted == facts.counts["comments"]
    pipeline.prepare_warehouse(example_config)
    result = pipeline.build(example_config, as_of=facts.now)
    assert result.success and not result.failures
    pipeline.evaluate_and_send_alerts(example_config, now=facts.now, dry_run=True)
    con = duckdb.connect(str(example_config.warehouse_path), read_only=True)
    try:
        rules = dict(
            con.execute(
                "select rule, count(*) from tertulia.quarantine where released_at is null group by rule"
            ).fetchall()
        )
        assert con.execute("select count(*) from marts.fct_sla_events").fetchone()[0] > 0
        assert con.execute(
            "select impressions, reach, reactions from staging.stg_social__post_metrics where post_id = 'blank-post'"
        ).fetchall() == [(None, None, 1)]
    finally:
        con.close()
    assert rules == {
        "timestamp_out_of_range": 2,
        "bad_timestamp": 5,
        "future_timestamp": 1,
        "missing_value": 2,
        "counter_out_of_range": 3,  # 20 nines, 2^63-1 (comments), 20 nines (followers)
        "ambiguous_number": 3,
        "negative_counter": 1,
        "not_an_integer": 5,
        "unknown_value": 2,
        "text_too_long": 2,
        "nul_byte": 1,
        "malformed_record": 7,
        "bad_date": 1,
    }
