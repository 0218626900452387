"""The landing contract decides what staging can read (issue 21): one test per class of bad input,
each landing the good rows beside it and quarantining the bad one with its file, line and reason."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from connectors.files import import_bundle
from tertulia import warehouse
from tertulia.business_calendar import write_business_intervals


@pytest.fixture
def con(example_config):
    c = warehouse.connect(example_config.warehouse_path)
    yield c
    c.close()


def comment(cid: str, **kw) -> dict:
    return {
        "platform": "youtube",
        "comment_id": cid,
        "post_id": "v1",
        "author_id": "u1",
        "author_name": "Ana",
        "created_at": "2026-03-01T10:00:00",
        "message": "hola",
        "channel": "comment",
        **kw,
    }


def write_jsonl(path: Path, *records: dict | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def landed(con, entity: str = "comments", key: str = "comment_id") -> list[str]:
    return [r[0] for r in con.execute(f"select {key} from raw.{entity} order by {key}").fetchall()]


def held(con, entity: str = "comments") -> list[tuple]:
    """Open quarantine rows: (file name, line, rule, reason)."""
    return con.execute(
        "select regexp_replace(source, '^.*/', ''), source_line, rule, reason from tertulia.quarantine "
        "where entity = ? and released_at is null order by source, source_line",
        [entity],
    ).fetchall()


def staging_casts(con) -> None:
    """What the staging models do to raw values: raises when a landed value cannot be cast."""
    con.execute(
        "select cast(nullif(trim(like_count), '') as bigint), try_cast(trim(created_at) as timestamptz) "
        "from raw.comments"
    ).fetchall()
    con.execute(
        "select cast(\"date\" as date), cast(nullif(trim(followers), '') as bigint), "
        "cast(nullif(trim(impressions), '') as bigint), cast(nullif(trim(reach), '') as bigint) "
        "from raw.account_metrics"
    ).fetchall()
    con.execute(
        "select cast(nullif(trim(impressions), '') as bigint), cast(nullif(trim(reach), '') as bigint) "
        "from raw.post_metrics"
    ).fetchall()


# --- 1. timestamps outside the plausible range -------------------------------------------------


def test_connectors_timestamp_before_2000_is_quarantined_and_the_calendar_stays_short(
    con, example_config, tmp_path
):
    b = tmp_path / "b"
    write_jsonl(
        b / "comments.jsonl",
        comment("c1", created_at="0001-06-01T00:00:00"),
        comment("c2", created_at="1970-01-01T00:00:00Z"),
        comment("c3"),
    )
    report = import_bundle(con, b, example_config)
    assert landed(con) == ["c3"]
    assert held(con) == [
        (
            "comments.jsonl",
            1,
            "timestamp_out_of_range",
            "created_at '0001-06-01T00:00:00' is before 2000-01-01, the earliest plausible date",
        ),
        (
            "comments.jsonl",
            2,
            "timestamp_out_of_range",
            "created_at '1970-01-01T00:00:00Z' is before 2000-01-01, the earliest plausible date",
        ),
    ]
    assert any(
        "comments.jsonl line 1: created_at '0001-06-01" in m for m in report.entities["comments"].messages
    )
    write_business_intervals(con, example_config, today=dt.date(2026, 3, 2))
    # A week before the earliest landed comment (2026-03-01), not 1970 or year 1.
    assert con.execute("select min(local_date) from config.business_intervals").fetchone()[0] >= dt.date(
        2026, 2, 22
    )


def test_connectors_earliest_timestamp_is_configurable(example_config, tmp_path):
    cfg = example_config.model_copy(
        update={
            "quality": example_config.quality.model_copy(update={"earliest_timestamp": dt.date(2026, 1, 1)})
        }
    )
    b = tmp_path / "b"
    write_jsonl(b / "comments.jsonl", comment("c1", created_at="2025-12-31T23:00:00Z"), comment("c2"))
    con = warehouse.connect(cfg.warehouse_path)
    try:
        import_bundle(con, b, cfg)
        assert landed(con) == ["c2"]
        assert [h[2] for h in held(con)] == ["timestamp_out_of_range"]
    finally:
        con.close()


def test_connectors_stored_year_0001_no_longer_stops_an_import_and_a_corrected_file_lands(
    con, example_config, tmp_path
):
    # What an earlier version let land: a comment of year 1, recorded in the calendar bounds.
    b = tmp_path / "b"
    write_jsonl(b / "comments.jsonl", comment("c1"))
    import_bundle(con, b, example_config)
    con.execute("update raw.comments set created_at = '0001-06-01T00:00:00'")
    con.execute(
        "create table if not exists tertulia.calendar_bounds "
        "(id integer primary key, earliest_comment_date date, scanned_through timestamp)"
    )
    con.execute("insert or replace into tertulia.calendar_bounds values (1, date '0001-06-01', null)")
    # Was: OverflowError: date value out of range, on every import, run and build.
    n = write_business_intervals(con, example_config, today=dt.date(2026, 3, 2))
    assert n > 0
    assert con.execute("select min(local_date) from config.business_intervals").fetchone()[0].year >= 2000
    # The corrected file lands over it.
    write_jsonl(b / "comments.jsonl", comment("c1", created_at="2026-03-01T11:00:00"))
    res = import_bundle(con, b, example_config).entities["comments"]
    assert (res.updated, res.quarantined) == (1, 0)
    write_business_intervals(con, example_config, today=dt.date(2026, 3, 2))
    assert con.execute("select earliest_comment_date from tertulia.calendar_bounds").fetchone() == (
        dt.date(2026, 3, 1),
    )


# --- 2. counters and dates staging cannot cast -------------------------------------------------


def test_connectors_counter_past_a_trillion_is_quarantined(con, example_config, tmp_path):
    b = tmp_path / "b"
    write_jsonl(
        b / "comments.jsonl",
        comment("c1", like_count="99999999999999999999"),  # past 2^63-1: no cast would read it
        comment("c2", like_count="999999999999"),  # the largest counter that lands
        comment("c3", like_count="1000000000000"),
        comment("c4", like_count="9223372036854775807"),  # fits 64 bits; two of them overflowed a sum
        comment("c5", like_count=" 999999999999.0 "),  # whole, with spaces: lands
        comment("c6", like_count="0001000000000000"),  # 16 digits, the value past the bound
    )
    import_bundle(con, b, example_config)
    assert landed(con) == ["c2", "c5"]
    assert held(con) == [
        ("comments.jsonl", n, "counter_out_of_range", f"like_count '{v}' is more than 999,999,999,999")
        for n, v in [
            (1, "99999999999999999999"),
            (3, "1000000000000"),
            (4, "9223372036854775807"),
            (6, "0001000000000000"),
        ]
    ]
    staging_casts(con)


def test_connectors_date_column_holding_a_time_is_quarantined(con, example_config, tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    (b / "account_metrics.csv").write_text(
        "platform,account_id,date,followers,impressions,reach\n"
        "instagram,ig1,2026-11-20,10,20,30\n"
        "instagram,ig1,2026-11-20T10:00:00,11,21,31\n",
        encoding="utf-8",
    )
    import_bundle(con, b, example_config)
    assert con.execute('select "date" from raw.account_metrics').fetchall() == [("2026-11-20",)]
    assert held(con, "account_metrics") == [
        (
            "account_metrics.csv",
            2,
            "bad_date",
            "date '2026-11-20T10:00:00' is not an ISO 8601 date (it holds a time: write the day alone, 2026-11-20)",
        )
    ]
    staging_casts(con)


# --- 3. file names are never glob patterns -----------------------------------------------------


@pytest.mark.parametrize("name", ["[ab].jsonl", "*.jsonl", "a?.jsonl"])
def test_connectors_glob_characters_in_file_names_are_read_as_that_file(con, example_config, tmp_path, name):
    folder = tmp_path / "b" / "comments"
    write_jsonl(folder / "a.jsonl", comment("from_a"))
    write_jsonl(folder / "b.jsonl", comment("from_b"))
    write_jsonl(folder / "ab.jsonl", comment("from_ab"))
    write_jsonl(folder / name, comment("from_pattern"))
    report = import_bundle(con, tmp_path / "b", example_config)
    assert report.errors == []
    assert landed(con) == ["from_a", "from_ab", "from_b", "from_pattern"]
    assert held(con) == []
    assert (
        con.execute("select _source from raw.comments where comment_id = 'from_pattern'")
        .fetchone()[0]
        .endswith("/comments/" + name)
    )


def test_connectors_glob_characters_in_a_csv_name_are_read_as_that_file(con, example_config, tmp_path):
    folder = tmp_path / "b" / "accounts"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("platform,account_id,handle,name\ninstagram,ig_a,a,A\n", encoding="utf-8")
    (folder / "[a].csv").write_text("platform,account_id,handle,name\ninstagram,ig_x,x,X\n", encoding="utf-8")
    import_bundle(con, tmp_path / "b", example_config)
    assert landed(con, "accounts", "account_id") == ["ig_a", "ig_x"]


# --- 4. one bad row, not a whole file ----------------------------------------------------------


def test_connectors_json_line_over_2mb_quarantines_that_line_only(con, example_config, tmp_path):
    b = tmp_path / "b"
    write_jsonl(b / "comments.jsonl", comment("c1"), comment("c2", message="x" * 3_000_000), comment("c3"))
    report = import_bundle(con, b, example_config)
    assert report.errors == []
    assert landed(con) == ["c1", "c3"]
    assert held(con) == [
        ("comments.jsonl", 2, "text_too_long", "message is 3000000 bytes long (limit 65536)")
    ]


def test_connectors_csv_field_over_2mb_quarantines_that_row_only(con, example_config, tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    (b / "accounts.csv").write_text(
        "platform,account_id,handle,name\n"
        "instagram,ig1,a,A\n"
        f"instagram,ig2,b,{'y' * 3_000_000}\n"
        "facebook,fb1,c,C\n",
        encoding="utf-8",
    )
    report = import_bundle(con, b, example_config)
    assert report.errors == []
    assert landed(con, "accounts", "account_id") == ["fb1", "ig1"]
    assert held(con, "accounts") == [
        ("accounts.csv", 2, "text_too_long", "name is 3000000 bytes long (limit 65536)")
    ]


def test_connectors_empty_json_key_quarantines_that_record_only(con, example_config, tmp_path):
    b = tmp_path / "b"
    write_jsonl(b / "comments.jsonl", comment("c1"), {**comment("c2"), "": "x"}, comment("c3"))
    report = import_bundle(con, b, example_config)
    assert report.errors == []
    assert landed(con) == ["c1", "c3"]
    assert held(con) == [("comments.jsonl", 2, "malformed_record", 'the record has an empty key ""')]


def test_connectors_one_ragged_csv_row_among_1000_is_quarantined_with_its_row(con, example_config, tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    rows = [f"instagram,a{i},h{i},n{i}" for i in range(1, 1001)]
    rows[499] = "instagram,a500,h500,n500,stray"  # data row 500
    (b / "accounts.csv").write_text(
        "platform,account_id,handle,name\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    report = import_bundle(con, b, example_config)
    assert report.errors == []
    assert con.execute("select count(*) from raw.accounts").fetchone() == (999,)
    assert held(con, "accounts") == [
        (
            "accounts.csv",
            500,
            "malformed_record",
            "the row has 5 fields but the header has 4 (a stray delimiter or an unclosed quote?)",
        )
    ]
    # Rows after the bad one keep their own data-row numbers.
    assert con.execute("select _source_line from raw.accounts where account_id = 'a501'").fetchone() == (501,)
    assert con.execute("select _source_line from raw.accounts where account_id = 'a1000'").fetchone() == (
        1000,
    )


# --- 5. Spanish thousands ----------------------------------------------------------------------


POST_METRICS = (
    "platform,post_id,captured_at,impressions,reach,reactions,comments,shares\n"
    "instagram,p1,2026-03-01T10:00:00-05:00,1.000,10.000,5,2,1\n"
    "instagram,p2,2026-03-01T10:00:00-05:00,1000,12.0,5,2,1\n"
)


def test_connectors_spanish_thousands_without_a_declared_format_are_ambiguous(con, example_config, tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    (b / "post_metrics.csv").write_text(POST_METRICS, encoding="utf-8")
    import_bundle(con, b, example_config)
    assert landed(con, "post_metrics", "post_id") == ["p2"]
    assert held(con, "post_metrics") == [
        (
            "post_metrics.csv",
            1,
            "ambiguous_number",
            "impressions '1.000' is ambiguous: a thousands separator (1000) or a decimal point? "
            "The bundle declares no number format",
        )
    ]


def test_connectors_spanish_thousands_with_numbers_es_land_as_thousands(con, example_config, tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    (b / "_bundle.yml").write_text("numbers: es\n", encoding="utf-8")
    (b / "post_metrics.csv").write_text(POST_METRICS.replace("12.0", '"12,0"'), encoding="utf-8")
    import_bundle(con, b, example_config)
    assert con.execute("select post_id, impressions, reach from raw.post_metrics order by 1").fetchall() == [
        ("p1", "1000", "10000"),
        ("p2", "1000", "12"),
    ]
    assert held(con, "post_metrics") == []
    staging_casts(con)


def test_connectors_english_thousands_with_numbers_en(con, example_config, tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    (b / "_bundle.yml").write_text("numbers: en\n", encoding="utf-8")
    (b / "post_metrics.csv").write_text(
        "platform,post_id,captured_at,impressions,reach,reactions,comments,shares\n"
        'instagram,p1,2026-03-01T10:00:00-05:00,"1,000","10,000,000",5,2,1\n',
        encoding="utf-8",
    )
    import_bundle(con, b, example_config)
    assert con.execute("select impressions, reach from raw.post_metrics").fetchall() == [("1000", "10000000")]


def test_connectors_unknown_number_format_in_the_manifest_is_an_error(con, example_config, tmp_path):
    b = tmp_path / "b"
    write_jsonl(b / "comments.jsonl", comment("c1"))
    (b / "_bundle.yml").write_text("numbers: fr\n", encoding="utf-8")
    report = import_bundle(con, b, example_config)
    assert len(report.errors) == 1 and "numbers: 'fr' is not a number format" in report.errors[0]
    assert report.entities == {}


# --- 6. items 10-14 ----------------------------------------------------------------------------


def test_connectors_extra_columns_over_64kib_are_quarantined(con, example_config, tmp_path):
    b = tmp_path / "b"
    write_jsonl(b / "comments.jsonl", comment("c1", notes="x" * 1_000_000), comment("c2", notes="short"))
    import_bundle(con, b, example_config)
    assert landed(con) == ["c2"]
    assert [(h[1], h[2]) for h in held(con)] == [(1, "text_too_long")]
    assert "extra columns are 1000012 bytes long together (limit 65536)" in held(con)[0][3]


def test_connectors_json_record_with_a_duplicate_key_is_quarantined(con, example_config, tmp_path):
    b = tmp_path / "b"
    dup = json.dumps(comment("c2"))[:-1] + ', "message": "second"}'
    write_jsonl(b / "comments.jsonl", comment("c1"), dup)
    import_bundle(con, b, example_config)
    assert landed(con) == ["c1"]
    assert held(con) == [
        (
            "comments.jsonl",
            2,
            "malformed_record",
            'the record has the key "message" twice (which value is meant?)',
        )
    ]
    # Kept as delivered, both values.
    record = con.execute("select record from tertulia.quarantine").fetchone()[0]
    assert json.loads(record)["_raw"] == dup


def test_connectors_ids_with_surrounding_whitespace_are_trimmed_and_case_is_kept(
    con, example_config, tmp_path
):
    b = tmp_path / "b"
    write_jsonl(
        b / "comments.jsonl",
        comment("c1", post_id=" v1 "),
        comment(" c1", updated_at="2026-03-01T12:00:00"),
        comment("C1"),
    )
    import_bundle(con, b, example_config)
    # " c1" is c1 again (a duplicate in the batch; the newer version is kept); C1 is another id.
    assert landed(con) == ["C1", "c1"]
    assert con.execute("select post_id from raw.comments where comment_id = 'c1'").fetchone() == ("v1",)
    assert [(h[1], h[2]) for h in held(con)] == [(1, "duplicate_in_batch")]


@pytest.mark.parametrize(
    "value",
    [
        "2026-03-01T10:00:00+25:00",
        "2026-03-01T24:00:00",
        "2026-03-01T10:00:00 America/New_York",
        "2026-03-01 10:00 UTC",
        "2026-03-01",
        "2026-3-1 10:00",
    ],
)
def test_connectors_permissive_timestamps_are_quarantined(con, example_config, tmp_path, value):
    b = tmp_path / "b"
    write_jsonl(
        b / "comments.jsonl",
        comment("c1", created_at=value),
        comment("c2", created_at="2026-03-01 10:00+14:00"),
    )
    import_bundle(con, b, example_config)
    assert landed(con) == ["c2"]
    ((_, line, rule, reason),) = held(con)
    assert (line, rule) == (1, "bad_timestamp")
    assert reason.startswith(f"created_at '{value}' is not an ISO 8601 timestamp (")
    if value == "2026-03-01":
        assert reason.endswith("(a date alone; write the time too)")


def test_connectors_utf16_file_is_diagnosed_as_utf16(con, example_config, tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    (b / "comments.jsonl").write_bytes((json.dumps(comment("c1")) + "\n").encode("utf-16"))
    report = import_bundle(con, b, example_config)
    assert len(report.errors) == 1
    assert "UTF-16 encoded" in report.errors[0] and "iconv -f utf-16 -t utf-8" in report.errors[0]
    assert "Latin-1" not in report.errors[0]


def test_connectors_json_key_in_another_case_is_reported_as_such(con, example_config, tmp_path):
    b = tmp_path / "b"
    rec = comment("c2")
    rec["Message"] = rec.pop("message")
    write_jsonl(b / "comments.jsonl", comment("c1"), rec)
    import_bundle(con, b, example_config)
    assert landed(con) == ["c1"]
    assert held(con) == [
        (
            "comments.jsonl",
            2,
            "malformed_record",
            'the key "Message" differs from the column "message" only in case; keys are matched exactly: rename it',
        )
    ]


def test_connectors_unclosed_csv_quote_is_reported_as_such(con, example_config, tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    header = (
        "platform,comment_id,post_id,parent_id,thread_id,author_id,author_name,created_at,message,channel\n"
    )
    rows = [f'youtube,c{i},v1,,,u1,"Ana, Quito",2026-03-01T10:00:00,hola {i},comment\n' for i in range(1, 6)]
    rows[1] = 'youtube,c2,v1,,,u1,"Ana, Quito",2026-03-01T10:00:00,"hola 2,comment\n'
    (b / "comments.csv").write_text(header + "".join(rows), encoding="utf-8")
    report = import_bundle(con, b, example_config)
    assert report.errors == []
    # The quote opened in row 2 takes row 3 in: both are held, as one record, never an "unknown channel".
    assert landed(con) == ["c1", "c4", "c5"]
    assert held(con) == [
        (
            "comments.csv",
            2,
            "malformed_record",
            "an unclosed quote: a quoted value runs over 2 lines, and the rows it took in are held here with it; "
            "close the quote",
        )
    ]
    assert "youtube,c3," in con.execute("select record ->> '_raw' from tertulia.quarantine").fetchone()[0]
    assert con.execute("select _source_line from raw.comments where comment_id = 'c4'").fetchone() == (4,)


def test_connectors_quote_swallowing_rows_in_a_sniffable_csv_is_reported_as_such(
    con, example_config, tmp_path
):
    b = tmp_path / "b"
    b.mkdir()
    rows = [f"instagram,a{i},h{i},n{i}" for i in range(1, 11)]
    rows[2] = 'instagram,a3,"h3,n3'  # opened here
    rows[6] = 'instagram,a7,h7",n7'  # and closed four rows later
    (b / "accounts.csv").write_text(
        "platform,account_id,handle,name\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    import_bundle(con, b, example_config)
    assert landed(con, "accounts", "account_id") == ["a1", "a10", "a2", "a8", "a9"]
    ((_, line, rule, reason),) = held(con, "accounts")
    assert (line, rule) == (3, "malformed_record")
    assert reason.startswith("a quoted value runs over several lines that look like rows of this file")


def test_connectors_empty_bundle_folder_prints_a_note(con, example_config, tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    report = import_bundle(con, b, example_config)
    assert report.errors == []
    assert len(report.notes) == 1 and "no entity files in this folder" in report.notes[0]
    assert "no entity files" in report.render()


def test_connectors_symlinks_leaving_the_bundle_are_refused(con, example_config, tmp_path):
    outside = tmp_path / "outside"
    write_jsonl(outside / "comments.jsonl", comment("stolen"))
    (outside / "secret-name.txt").write_text("x", encoding="utf-8")
    b = tmp_path / "b"
    b.mkdir()
    os.symlink(outside / "comments.jsonl", b / "comments.jsonl")
    os.symlink(outside, b / "posts")
    write_jsonl(b / "accounts" / "inside.jsonl", {"platform": "instagram", "account_id": "ig1"})
    os.symlink(b / "accounts" / "inside.jsonl", b / "accounts" / "link-inside.jsonl")
    report = import_bundle(con, b, example_config)
    assert landed(con) == []
    assert len(report.errors) == 2
    assert all("symbolic link that leads out of the bundle folder" in e for e in report.errors)
    assert "secret-name" not in report.render() and str(outside) not in report.render()
    # A link that stays inside the bundle is read.
    assert landed(con, "accounts", "account_id") == ["ig1"]
