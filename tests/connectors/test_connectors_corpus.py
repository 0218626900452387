"""The bad-input corpus (tests/connectors/corpus/cases.yml): exact rows landed and quarantined, the
message of each case, nothing lost, and nothing duplicated by a second import."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from connectors.files import import_bundle
from tertulia import warehouse
from tertulia.contract import ENTITIES

CORPUS = Path(__file__).parent / "corpus"
CASES = yaml.safe_load((CORPUS / "cases.yml").read_text(encoding="utf-8"))["cases"]

# The list of issue 7 part 5, one case each.
ISSUE_LIST = {
    "malformed_json_line",
    "csv_missing_column",
    "csv_extra_column",
    "wrong_types",
    "duplicate_ids_within_file",
    "duplicate_ids_across_files",
    "id_updated_twice",
    "counters_backwards",
    "naive_and_mixed_offsets",
    "future_dates",
    "latin1_file",
    "utf8_bom",
    "nul_bytes",
    "emoji_rtl",
    "long_comment",
    "empty_file",
    "unknown_platform",
    "unknown_entity_file",
}
# Issue 21's data-path list.
ISSUE_21_LIST = {
    "timestamps_out_of_range",
    "counter_over_bigint",
    "date_holding_a_time",
    "glob_file_names",
    "empty_json_key",
    "ragged_csv_row",
    "spanish_thousands",
    "spanish_thousands_declared",
    "extra_column_too_long",
    "duplicate_json_key",
    "padded_ids",
    "permissive_timestamps",
    "utf16_file",
    "json_key_case",
    "unclosed_csv_quote",
    "empty_bundle",
}


def test_connectors_corpus_covers_the_issue_list():
    assert {c["name"] for c in CASES} == ISSUE_LIST | ISSUE_21_LIST
    for case in CASES:
        for f in case["files"]:
            assert (CORPUS / f).is_file(), f"{case['name']}: {f} is listed but missing"


def _bundle_for(case: dict, tmp_path: Path) -> Path:
    bundle = tmp_path / "bundle"
    for f in case["files"]:
        rel = Path(f).relative_to(case["name"])
        (bundle / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CORPUS / f, bundle / rel)
    return bundle


def _state(con, entity: str):
    ent = ENTITIES[entity]
    key2 = ent.key[1] if len(ent.key) > 1 else ent.key[0]
    keys = sorted(r[0] for r in con.execute(f'select "{key2}" from raw.{entity}').fetchall())
    quarantine = con.execute(
        "select source_line, rule, reason from tertulia.quarantine where entity = ? and released_at is null "
        "order by source_line",
        [entity],
    ).fetchall()
    return keys, quarantine


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_connectors_corpus_case(case, example_config, tmp_path):
    exp = case["expect"]
    entity = case["entity"]
    bundle = _bundle_for(case, tmp_path)
    con = warehouse.connect(example_config.warehouse_path)
    try:
        report = import_bundle(con, bundle, example_config)
        keys, quarantine = _state(con, entity)

        assert len(keys) == exp["landed"]
        assert keys == sorted(exp["landed_keys"])
        assert len(quarantine) == exp["quarantined"]
        assert [q[0] for q in quarantine] == exp["quarantined_lines"]
        if exp.get("quarantine_rule"):
            assert {q[1] for q in quarantine} == {exp["quarantine_rule"]}
        if exp.get("quarantine_reason_contains"):
            assert all(exp["quarantine_reason_contains"] in q[2] for q in quarantine), quarantine
        for line, text in (exp.get("quarantine_reasons") or {}).items():
            assert any(q[0] == line and text in q[2] for q in quarantine), (line, quarantine)
        if exp["error_contains"]:
            assert any(exp["error_contains"] in e for e in report.errors), report.errors
            assert any(e.startswith(str(bundle.resolve())) for e in report.errors), "the error names the file"
        else:
            assert report.errors == []
        if exp.get("note_contains"):
            assert any(exp["note_contains"] in n for n in report.notes), report.notes
        # Every quarantined row is also reported by the import, naming the file and line.
        res = report.entities.get(entity)
        if exp["quarantined"]:
            assert res is not None and res.quarantined == exp["quarantined"]
            for line in exp["quarantined_lines"]:
                assert any(f" {line}: " in m for m in res.messages), res.messages
        ent = ENTITIES[entity]
        key2 = ent.key[1] if len(ent.key) > 1 else ent.key[0]
        for key, values in (exp.get("landed_values") or {}).items():
            for col, value in values.items():
                got = con.execute(f'select "{col}" from raw.{entity} where "{key2}" = ?', [key]).fetchone()
                assert got == (value,), (key, col)
        for k in exp.get("extra_keys") or []:
            n = con.execute(
                f"select count(*) from raw.{entity} where json_exists(_extra, ?)", ["$." + k]
            ).fetchone()[0]
            assert n == exp["landed"]
        # Nothing lost: every row of the files landed, was quarantined, or its whole file was refused.
        assert case["rows_in_files"] == (
            exp["landed"] + exp["quarantined"] + exp.get("refused_rows", 0) + exp.get("held_inside", 0)
        )

        # A second import of the same bundle changes nothing.
        again = import_bundle(con, bundle, example_config)
        assert _state(con, entity) == (keys, quarantine)
        if entity in again.entities:
            assert again.entities[entity].inserted == 0
            assert again.entities[entity].updated == 0
    finally:
        con.close()
