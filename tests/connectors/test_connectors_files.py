"""connectors.files: bundle discovery, formats, whole-file errors, idempotency, release on re-import;
and the read-only `tertulia quarantine` / `tertulia status` views."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pytest

from connectors.files import import_bundle
from connectors.quarantine import render_quarantine
from tertulia import warehouse
from tertulia.status import render_status

COMMENT_KEYS = [
    "platform",
    "comment_id",
    "post_id",
    "parent_id",
    "thread_id",
    "author_id",
    "author_name",
    "created_at",
    "message",
    "channel",
]


def jline(cid: str, **kw) -> str:
    rec = {
        "platform": "youtube",
        "comment_id": cid,
        "post_id": "v1",
        "parent_id": None,
        "thread_id": cid,
        "author_id": "u1",
        "author_name": "Ana",
        "created_at": "2026-03-01T10:00:00",
        "message": "hola",
        "channel": "comment",
        **kw,
    }
    return json.dumps(rec, ensure_ascii=False)


ACCOUNTS_CSV = "platform,account_id,handle,name\ninstagram,ig1,cafe,Café\nfacebook,fb1,cafeq,Café Quito\n"


@pytest.fixture
def con(example_config):
    c = warehouse.connect(example_config.warehouse_path)
    yield c
    c.close()


def counts(con) -> dict[str, int]:
    return {
        t: con.execute(f"select count(*) from raw.{t}").fetchone()[0]
        for t in ("accounts", "comments", "team")
    }


def test_connectors_missing_bundle_folder_is_a_clear_error(con, example_config, tmp_path):
    report = import_bundle(con, tmp_path / "nope", example_config)
    assert report.entities == {}
    assert len(report.errors) == 1 and "no such bundle folder" in report.errors[0]
    assert str(tmp_path / "nope") in report.errors[0]
    assert report.render().startswith(f"Nothing imported from {tmp_path / 'nope'} (batch ")


def test_connectors_bad_files_stop_their_entity_only_and_keep_what_was_there(con, example_config, tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    (b / "accounts.csv").write_text(ACCOUNTS_CSV, encoding="utf-8")
    (b / "comments.jsonl").write_text(jline("c1") + "\n" + jline("c2") + "\n", encoding="utf-8")
    import_bundle(con, b, example_config)
    assert counts(con) == {"accounts": 2, "comments": 2, "team": 0}

    # Next export: comments lost a required column, a spreadsheet slipped in, accounts changed.
    (b / "comments.jsonl").unlink()
    (b / "comments.csv").write_text("platform,comment_id,message\nyoutube,c3,hola\n", encoding="utf-8")
    (b / "team.xlsx").write_bytes(b"PK\x03\x04")
    (b / "likes.jsonl").write_text("{}\n", encoding="utf-8")
    (b / "_notes.txt").write_text("ignored", encoding="utf-8")
    (b / "README.md").write_text("ignored", encoding="utf-8")
    (b / "accounts.csv").write_text(
        ACCOUNTS_CSV.replace("Café Quito", "Café Tertulia Quito"), encoding="utf-8"
    )
    report = import_bundle(con, b, example_config)
    assert counts(con) == {"accounts": 2, "comments": 2, "team": 0}
    assert report.entities["accounts"].updated == 1
    assert sorted(report.entities) == ["accounts"]
    errors = "\n".join(report.errors)
    assert len(report.errors) == 3
    assert "comments.csv: missing required column(s)" in errors and "author_id" in errors
    assert "team.xlsx: unsupported format '.xlsx'" in errors
    assert "likes.jsonl: unknown entity file" in errors and "accounts, posts, post_metrics" in errors
    assert "error:" in report.render()
    assert report.render().startswith(f"Imported {b} (batch ")  # accounts landed


def test_connectors_formats_gzip_parquet_json_array_and_entity_folders(con, example_config, tmp_path):
    b = tmp_path / "b"
    (b / "comments").mkdir(parents=True)
    with gzip.open(b / "accounts.csv.gz", "wt", encoding="utf-8") as fh:
        fh.write(ACCOUNTS_CSV)
    (b / "comments" / "a.jsonl").write_text(jline("c1") + "\n", encoding="utf-8")
    with gzip.open(b / "comments" / "b.ndjson.gz", "wt", encoding="utf-8") as fh:
        fh.write(jline("c2") + "\n\n" + jline("c3", channel="nope") + "\n")
    (b / "comments" / ".hidden.jsonl").write_text("garbage", encoding="utf-8")
    (b / "team.json").write_text(
        json.dumps([{"member_id": "m1", "name": "Ana"}, {"member_id": "m2", "x": 1}])
    )
    duckdb.connect().execute(
        "copy (select 'youtube' as platform, 'v1' as post_id, timestamp '2026-03-01 10:00:00' as captured_at, "
        "12 as impressions, 10 as reach, 1 as reactions, 0 as comments, 0 as shares, 'x' as extra_col) "
        f"to '{b / 'post_metrics.parquet'}' (format parquet)"
    )
    report = import_bundle(con, b, example_config)
    assert report.errors == []
    assert {e: (r.inserted, r.quarantined) for e, r in report.entities.items()} == {
        "accounts": (2, 0),
        "comments": (2, 1),
        "team": (2, 0),
        "post_metrics": (1, 0),
    }
    # Line numbers count blank lines, so the message points at the real line of b.ndjson.gz.
    assert con.execute("select source, source_line, rule from tertulia.quarantine").fetchall() == [
        (str((b / "comments" / "b.ndjson.gz").resolve()), 3, "unknown_value")
    ]
    assert con.execute(
        "select captured_at, impressions, _extra->>'extra_col' from raw.post_metrics"
    ).fetchall() == [("2026-03-01 10:00:00", "12", "x")]
    assert con.execute("select member_id, _extra from raw.team order by 1").fetchall() == [
        ("m1", None),
        ("m2", '{"x":1}'),
    ]


def imp(config, bundle: Path):
    """Import and close, as `tertulia import` does, so the read-only views can open the file."""
    with warehouse.open_for_writing(config.warehouse_path) as c:
        return import_bundle(c, bundle, config)


def test_connectors_fixed_file_releases_its_quarantined_lines(example_config, tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    f = b / "comments.jsonl"
    f.write_text(
        jline("c1")
        + "\n"
        + '{"platform": "youtube", "comment_id": "c2"\n'
        + jline("c3", created_at="ayer")
        + "\n",
        encoding="utf-8",
    )
    first = imp(example_config, b)
    assert (first.entities["comments"].inserted, first.entities["comments"].quarantined) == (1, 2)
    listing = render_quarantine(example_config)
    assert "2 row(s) in quarantine" in listing
    assert "comments.jsonl line 2 · malformed_record" in listing
    assert "comments.jsonl line 3 · bad_timestamp" in listing

    f.write_text("\n".join([jline("c1"), jline("c2"), jline("c3")]) + "\n", encoding="utf-8")
    fixed = imp(example_config, b)
    res = fixed.entities["comments"]
    assert (res.inserted, res.unchanged, res.quarantined, res.released) == (2, 1, 0, 2)
    assert "Nothing in quarantine (2 row(s) released" in render_quarantine(example_config)


def test_connectors_sample_bundle_lands_once(con, example_config, tmp_path):
    from tertulia.sample import write_sample

    bundle = tmp_path / "sample"
    write_sample(bundle, days=3, seed=7)
    first = import_bundle(con, bundle, example_config)
    assert first.errors == []
    assert sorted(first.entities) == [
        "account_metrics",
        "accounts",
        "comments",
        "content_calendar",
        "post_metrics",
        "posts",
        "team",
    ]
    lines = sum(
        1 for line in (bundle / "comments.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()
    )
    c = first.entities["comments"]
    assert c.rows_in == lines and c.inserted + c.quarantined == lines
    before = {e: con.execute(f"select count(*) from raw.{e}").fetchone()[0] for e in first.entities}
    assert before == {e: r.inserted for e, r in first.entities.items()}
    second = import_bundle(con, bundle, example_config)
    assert all((r.inserted, r.updated) == (0, 0) for r in second.entities.values())
    assert {e: con.execute(f"select count(*) from raw.{e}").fetchone()[0] for e in first.entities} == before


def test_connectors_status_reports_tables_quarantine_and_newest_comment(example_config, tmp_path):
    with pytest.raises(FileNotFoundError, match="no warehouse yet"):
        render_status(example_config)
    b = tmp_path / "b"
    b.mkdir()
    # 10:00 in Guayaquil (15:00Z) is newer than 14:30Z although the text sorts lower.
    (b / "comments.jsonl").write_text(
        "\n".join(
            [
                jline("c1", created_at="2026-03-01T14:30:00Z"),
                jline("c2", created_at="2026-03-01T10:00:00"),
                jline("c3", platform="myspace"),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    imp(example_config, b)
    text = render_status(example_config)
    assert "raw.comments" in text and "raw.accounts" in text
    comments_line = next(line for line in text.splitlines() if "raw.comments" in line)
    assert comments_line.split()[1] == "2" and comments_line.split()[-1] == "1"
    assert "Newest comment: 2026-03-01T10:00:00 (youtube:c2)" in text
    assert "1 row(s) in quarantine" in text
    assert "unknown platform 'myspace'" in render_quarantine(example_config, entity="comments")
    assert "Nothing in quarantine for team" in render_quarantine(example_config, entity="team")


def test_connectors_encoding_and_nul_in_csv_and_jsonl(con, example_config, tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    (b / "comments.jsonl").write_bytes((jline("c1") + "\n" + jline("c2", message="café")).encode("latin-1"))
    (b / "accounts.csv").write_bytes(
        b"platform,account_id,handle,name\ninstagram,ig1,ca\x00fe,x\nfacebook,fb1,ok,y\n"
    )
    report = import_bundle(con, b, example_config)
    assert len(report.errors) == 1
    assert "comments.jsonl: not UTF-8 encoded" in report.errors[0] and "iconv" in report.errors[0]
    assert con.execute("select count(*) from raw.comments").fetchone() == (0,)
    assert (report.entities["accounts"].inserted, report.entities["accounts"].quarantined) == (1, 1)
    assert con.execute("select source_line, rule, reason from tertulia.quarantine").fetchall() == [
        (1, "nul_byte", "handle contains a NUL byte")
    ]
    assert "accounts.csv data row 1: handle contains a NUL byte" in report.entities["accounts"].messages[0]


def test_connectors_bundle_doc_names_every_contract_column():
    from tertulia.contract import ENTITIES

    doc = (Path(__file__).resolve().parents[2] / "docs" / "bundle-format.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(" `"): line for line in doc.splitlines() if line.startswith("| `")}
    for ent in ENTITIES.values():
        assert ent.name in rows, ent.name
        for col in ent.columns:
            assert col.name in rows[ent.name], (ent.name, col.name)


def test_connectors_ragged_csv_quarantines_the_row_and_lands_the_rest(con, example_config, tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    (b / "team.csv").write_text(
        "member_id,name,email,slack_user_id,handles\nm1,Ana,,,\nm2,Luis,a,b,c,extra,fields\n",
        encoding="utf-8",
    )
    report = import_bundle(con, b, example_config)
    assert report.errors == []
    assert con.execute("select member_id from raw.team").fetchall() == [("m1",)]
    assert con.execute("select source_line, rule, reason, record from tertulia.quarantine").fetchall() == [
        (
            2,
            "malformed_record",
            "the row has 7 fields but the header has 5 (a stray delimiter or an unclosed quote?)",
            '{"_raw":"m2,Luis,a,b,c,extra,fields"}',
        )
    ]
