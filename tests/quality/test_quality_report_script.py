"""The figures script's own counting (bench/quality_report.py), independent of the importer."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("quality_report_script", REPO / "bench" / "quality_report.py")
report = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = report  # dataclasses look their module up while the module loads
_spec.loader.exec_module(report)


def test_quality_report_counts_csv_rows_with_keys_and_skips_blank_lines(tmp_path):
    f = tmp_path / "comments.csv"
    f.write_bytes(
        '\ufeffPlatform,comment_id,message\ninstagram,c1,"two\nlines"\n,,\n\ninstagram, c2 ,hola\n'.encode()
    )
    rows = report.file_rows(f)
    # Record numbers count data rows (header excluded), as the importer's _source_line does.
    assert [(r.line, r.key) for r in rows] == [(1, ("instagram", "c1")), (2, None), (3, ("instagram", "c2"))]


def test_quality_report_counts_json_lines_and_keeps_unreadable_ones_without_key(tmp_path):
    f = tmp_path / "posts.jsonl"
    f.write_text('{"platform": "x", "post_id": 7}\n{"platform": "x", "post_id"\n\n{"platform": "x"}\n')
    rows = report.file_rows(f)
    assert [(r.line, r.key) for r in rows] == [(1, ("x", "7")), (2, None), (4, None)]


def test_quality_report_writes_figures_between_markers_only(tmp_path):
    doc = tmp_path / "quality.md"
    doc.write_text(f"# Q\n\nintro\n\n{report.START}\nold table\n{report.END}\n\nafter\n")
    report.write_doc(doc, "| a | b |")
    assert doc.read_text() == f"# Q\n\nintro\n\n{report.START}\n| a | b |\n{report.END}\n\nafter\n"
    report.write_doc(doc, "| c |")
    assert doc.read_text().count("| c |") == 1 and "| a | b |" not in doc.read_text()
