"""The JSON-lines fast path (DuckDB's read_json) lands exactly what the line-by-line path lands."""

from __future__ import annotations

import json

import pytest

import connectors.files as files
from connectors.files import import_bundle
from tertulia import warehouse

RAW_SQL = (
    "select platform, comment_id, post_id, parent_id, thread_id, author_id, author_name, created_at, "
    "updated_at, message, channel, like_count, is_deleted, cast(_extra as varchar), _source_line "
    "from raw.comments order by comment_id"
)


def record(cid: str, **kw) -> dict:
    rec = {
        "platform": "youtube",
        "comment_id": cid,
        "post_id": "v1",
        "thread_id": cid,
        "author_id": "u1",
        "created_at": "2026-03-01T10:00:00-05:00",
        "channel": "comment",
    }
    rec.update(kw)
    return rec


# Values of every JSON type, escapes, non-ASCII text, and extra keys present, absent, null and nested.
RECORDS = [
    record(
        "c1",
        message='¿Envían a "Cuenca"?\nGracias',
        like_count=3,
        app="iOS",
        score=1.50,
        meta={"a": [1, None]},
    ),
    record("c2", message="plain", like_count="7", is_deleted=False, app=None),
    record("c3", author_name="Ana", updated_at="2026-03-02T10:00:00-05:00", like_count=1e3),
    record("c4", message="  spaced  ", meta={}),
]


@pytest.fixture
def bundle(tmp_path):
    b = tmp_path / "b"
    b.mkdir()
    (b / "comments.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS), encoding="utf-8"
    )
    return b


def land(config, bundle, db_name: str) -> tuple[list, object]:
    con = warehouse.connect(config.warehouse_path.with_name(db_name))
    try:
        report = import_bundle(con, bundle, config)
        return con.execute(RAW_SQL).fetchall(), report
    finally:
        con.close()


def _spy(monkeypatch) -> list:
    """Record what the fast path's pre-check answered (None: the line path was taken)."""
    answers: list = []
    real = files._strict_json_lines

    def spy(con, ent, p):
        answers.append(real(con, ent, p))
        return answers[-1]

    monkeypatch.setattr(files, "_strict_json_lines", spy)
    return answers


def test_connectors_fast_and_line_paths_land_the_same_rows(example_config, bundle, monkeypatch):
    answers = _spy(monkeypatch)
    fast, _ = land(example_config, bundle, "fast.duckdb")
    extra_keys = {"app", "meta", "score"}
    used = {"message", "like_count", "is_deleted", "author_name", "updated_at"}
    assert [a.keys for a in answers] == [
        sorted({*record("x"), *used, *extra_keys})
    ]  # the fast path was taken
    assert answers[0].lines == 4
    monkeypatch.setattr(files, "_strict_json_lines", lambda con, ent, p: None)
    slow, _ = land(example_config, bundle, "slow.duckdb")
    assert fast == slow
    by_id = {r[1]: r for r in fast}
    # Numbers and booleans are kept as their JSON text; extras in key order, a null or absent one left out.
    assert by_id["c1"][9:13] == ('¿Envían a "Cuenca"?\nGracias', "comment", "3", None)
    assert json.loads(by_id["c1"][13]) == {"app": "iOS", "meta": {"a": [1, None]}, "score": 1.5}
    assert by_id["c1"][13].startswith('{"app":"iOS","meta":')
    assert by_id["c2"][11:14] == ("7", "false", None)
    assert by_id["c3"][11] == "1000.0" and by_id["c3"][13] is None
    assert by_id["c4"][9] == "  spaced  " and by_id["c4"][13] == '{"meta":{}}'
    assert [r[14] for r in fast] == [1, 2, 3, 4]


def test_connectors_fixed_file_reimported_fast_changes_nothing(example_config, bundle, monkeypatch):
    answers = _spy(monkeypatch)
    f = bundle / "comments.jsonl"
    good = f.read_text(encoding="utf-8").splitlines(keepends=True)
    f.write_text(good[0] + "{not json\n" + "".join(good[1:]), encoding="utf-8")
    con = warehouse.connect(example_config.warehouse_path)
    try:
        first = import_bundle(con, bundle, example_config).entities["comments"]
        assert answers == [None]  # the malformed line sent the file the line-by-line way
        assert (first.inserted, first.quarantined) == (4, 1)
        assert con.execute("select source_line, rule from tertulia.quarantine").fetchall() == [
            (2, "malformed_record")
        ]
        f.write_text("".join(good), encoding="utf-8")
        second = import_bundle(con, bundle, example_config).entities["comments"]
        assert answers[1] is not None  # fixed: the fast path
        # The same values and extras from the other path: nothing updated; the fixed line released.
        assert (second.inserted, second.updated, second.unchanged, second.released) == (0, 0, 4, 1)
    finally:
        con.close()


def test_connectors_fast_read_failing_midway_falls_back_to_lines(example_config, bundle, monkeypatch):
    # A pre-check that wrongly lets a non-object line through: read_json fails inside the landing
    # transaction, which rolls back, and the line path lands the file with the bad line quarantined.
    f = bundle / "comments.jsonl"
    f.write_text(f.read_text(encoding="utf-8") + "[1, 2]\n", encoding="utf-8")
    monkeypatch.setattr(
        files, "_strict_json_lines", lambda con, ent, p: files.JsonLines(sorted(record("x")), 5)
    )
    con = warehouse.connect(example_config.warehouse_path)
    try:
        report = import_bundle(con, bundle, example_config)
        assert report.errors == []
        res = report.entities["comments"]
        assert (res.inserted, res.quarantined) == (4, 1)
        assert con.execute("select source_line, rule, reason from tertulia.quarantine").fetchall() == [
            (5, "malformed_record", "not a JSON object: [1, 2]")
        ]
        # The line path reads every key, so the extras the wrong pre-check left out are kept.
        assert (
            con.execute("select count(*) from raw.comments where _extra is not null").fetchone()[0] == 2
        )  # c1, c4
    finally:
        con.close()


def test_connectors_blank_or_case_clashing_lines_take_the_line_path(tmp_path):
    import duckdb

    from tertulia.contract import ENTITIES

    con = duckdb.connect()
    ent = ENTITIES["comments"]
    ok = tmp_path / "ok.jsonl"
    ok.write_text(json.dumps(record("c1")) + "\r\n" + json.dumps(record("c2", x=1)) + "\r\n")
    # No line holds the escape \u0000, so no value holds a NUL: the write may skip that rule.
    assert files._strict_json_lines(con, ent, ok) == (
        sorted([*record("c1"), "x"]),
        2,
        frozenset({"nul_byte"}),
    )
    for name, text in {
        "blank.jsonl": json.dumps(record("c1")) + "\n\n" + json.dumps(record("c2")) + "\n",
        "spaces.jsonl": json.dumps(record("c1")) + "\n   \n",
        "array.jsonl": json.dumps(record("c1")) + "\n[1]\n",
        "case.jsonl": json.dumps(record("c1", Platform="x")) + "\n",
        "nul.jsonl": json.dumps(record("c1")) + '\n{"platform": "x\x00"}\n',
        "broken.jsonl": json.dumps(record("c1")) + '\n{"platform": \n',
        "empty_objects.jsonl": "{}\n{}\n",
        # A key holding chr(1), the pre-pass's joint: "a\x01b" would read as the keys a and b.
        "joint.jsonl": json.dumps(record("c1", **{"a\u0001b": 1})) + "\n",
    }.items():
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        assert files._strict_json_lines(con, ent, p) is None, name


def _direct_spy(monkeypatch) -> list:
    """Record what the straight-to-raw landing answered (None: the checked path landed the batch)."""
    import connectors.landing as landing

    answers: list = []
    real = landing._land_direct

    def spy(*args, **kwargs):
        answers.append(real(*args, **kwargs))
        return answers[-1]

    monkeypatch.setattr(landing, "_land_direct", spy)
    return answers


def test_connectors_clean_file_lands_straight_with_the_checked_paths_rows(
    example_config, bundle, monkeypatch
):
    import connectors.landing as landing

    answers = _direct_spy(monkeypatch)
    direct, report = land(example_config, bundle, "direct.duckdb")
    assert [a is not None for a in answers] == [True]  # written straight to raw
    res = report.entities["comments"]
    assert (res.rows_in, res.inserted, res.updated, res.quarantined) == (4, 4, 0, 0)
    monkeypatch.setattr(landing, "_land_direct", lambda *a, **k: None)
    checked, _ = land(example_config, bundle, "checked.duckdb")
    assert direct == checked
    con = warehouse.connect(example_config.warehouse_path.with_name("direct.duckdb"))
    try:
        # One batch, stamped like the checked path stamps it; no temporary view left behind.
        assert con.execute(
            "select count(distinct _batch_id), count(*) filter (where _loaded_at is null) from raw.comments"
        ).fetchone() == (1, 0)
        assert (
            con.execute("select count(*) from duckdb_views() where view_name like '_land%'").fetchone()[0]
            == 0
        )
    finally:
        con.close()


def test_connectors_a_key_twice_or_already_landed_takes_the_checked_path(example_config, bundle, monkeypatch):
    answers = _direct_spy(monkeypatch)
    f = bundle / "comments.jsonl"
    f.write_text(
        f.read_text(encoding="utf-8") + json.dumps(record("c2", message="again")) + "\n", encoding="utf-8"
    )
    con = warehouse.connect(example_config.warehouse_path)
    try:
        first = import_bundle(con, bundle, example_config).entities["comments"]
        # c2 twice: nothing of the straight write stays; the checked path keeps the last line.
        assert answers == [None]
        assert (first.rows_in, first.inserted, first.quarantined) == (5, 4, 1)
        assert con.execute("select message from raw.comments where comment_id = 'c2'").fetchone() == (
            "again",
        )
        assert con.execute("select count(*) from raw.comments").fetchone()[0] == 4
        # The same file again: every key is in raw already, so the checked path finds nothing changed.
        second = import_bundle(con, bundle, example_config).entities["comments"]
        assert answers[1] is None
        assert (second.inserted, second.updated, second.unchanged) == (0, 0, 4)
        assert con.execute("select count(*) from raw.comments").fetchone()[0] == 4
    finally:
        con.close()


def test_connectors_a_clean_file_landing_straight_releases_a_fixed_record(
    example_config, tmp_path, monkeypatch
):
    answers = _direct_spy(monkeypatch)
    con = warehouse.connect(example_config.warehouse_path)
    try:
        first_dir, fixed_dir = tmp_path / "first", tmp_path / "fixed"
        first_dir.mkdir()
        fixed_dir.mkdir()
        (first_dir / "comments.jsonl").write_text(
            json.dumps(record("c1")) + "\n" + json.dumps(record("c9", created_at="yesterday")) + "\n",
            encoding="utf-8",
        )
        first = import_bundle(con, first_dir, example_config).entities["comments"]
        assert answers == [None]  # a bad row: the checked path quarantines it
        assert (first.inserted, first.quarantined) == (1, 1)
        (fixed_dir / "comments.jsonl").write_text(json.dumps(record("c9")) + "\n", encoding="utf-8")
        fixed = import_bundle(con, fixed_dir, example_config).entities["comments"]
        assert answers[1] is not None  # straight to raw
        assert (fixed.inserted, fixed.released) == (1, 1)
        assert (
            con.execute("select count(*) from tertulia.quarantine where released_at is null").fetchone()[0]
            == 0
        )
    finally:
        con.close()


def _numbered_bundle(tmp_path, files_lines: dict[str, int]):
    """A bundle with a comments/ folder of JSON-lines files whose record on line n has comment id
    `<file>-<n>`: big enough (megabytes) for DuckDB to read each file in several pieces at once."""
    b = tmp_path / "numbered"
    (b / "comments").mkdir(parents=True)
    for name, n in files_lines.items():
        with (b / "comments" / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            for i in range(1, n + 1):
                fh.write(json.dumps(record(f"{name}-{i}", message="x" * (i % 200), like_count=i)) + "\n")
    return b


def _lines_right(config, db_name: str) -> tuple[int, int]:
    con = warehouse.connect(config.warehouse_path.with_name(db_name))
    try:
        return con.execute(
            "select count(*), count(*) filter (where _source_line = cast(split_part(comment_id, '-', 2) as bigint) "
            "and _source like '%/' || split_part(comment_id, '-', 1) || '.jsonl') from raw.comments"
        ).fetchone()
    finally:
        con.close()


def test_connectors_straight_write_numbers_every_line_of_every_file(example_config, tmp_path, monkeypatch):
    import connectors.landing as landing

    b = _numbered_bundle(tmp_path, {"a": 30_000, "b": 20_000})
    direct = _direct_spy(monkeypatch)
    orders: list[bool] = []
    real = landing._keeps_row_order
    monkeypatch.setattr(landing, "_keeps_row_order", lambda *a: orders.append(real(*a)) or orders[-1])
    _, report = land(example_config, b, "numbered.duckdb")
    assert report.errors == [] and report.entities["comments"].inserted == 50_000
    # Written straight to raw from the unnumbered read, then numbered from the rows' order there.
    assert [d is not None for d in direct] == [True] and orders == [True]
    assert _lines_right(example_config, "numbered.duckdb") == (50_000, 50_000)


def test_connectors_straight_write_reads_numbered_lines_when_the_plan_may_reorder(
    example_config, tmp_path, monkeypatch
):
    import connectors.landing as landing

    b = _numbered_bundle(tmp_path, {"a": 30_000, "b": 20_000})
    direct = _direct_spy(monkeypatch)
    # As if the plan held an operator that does not keep row order (a join): the numbered read is used.
    monkeypatch.setattr(landing, "_ORDER_KEEPING", set())
    _, report = land(example_config, b, "ordered.duckdb")
    assert report.errors == [] and [d is not None for d in direct] == [True]
    assert _lines_right(example_config, "ordered.duckdb") == (50_000, 50_000)


def _empty_rows_select(ent, rows: str = "") -> tuple[str, dict]:
    """A landing select of rows with every contract column null, and the constants _checked_select binds."""
    import datetime as dt

    import connectors.landing as landing

    ctx = {
        "future_limit": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "earliest": landing.DEFAULT_EARLIEST,
        "tolerance": landing.DEFAULT_FUTURE_TOLERANCE,
        "numbers": None,
    }
    cols = ", ".join(f"null::varchar as {landing._q(c)}" for c in ent.column_names)
    return f"select {cols}, null::json as _extra, 's' as _source, null::bigint as _source_line {rows}", ctx


def test_connectors_allowed_values_rule_keeps_row_order():
    """The allowed-values rule is no join (DuckDB plans a long NOT IN list as one): the straight
    write's plan keeps the rows' order."""
    import duckdb

    import connectors.landing as landing
    from tertulia.contract import ENTITIES

    ent = ENTITIES["comments"]
    assert len(ent.allowed["platform"]) > 10
    select, ctx = _empty_rows_select(ent, "from range(3)")
    con = duckdb.connect()
    checked, _, _ = landing._checked_select(con, ent, select, [], "s", ctx, ordered=False)
    plan = con.execute(f"explain (format json) select * from ({checked})").fetchall()[0][1]
    assert "JOIN" not in plan


def test_connectors_escaped_nul_is_quarantined_with_its_line_and_the_rest_lands_straight_after(
    example_config, bundle, monkeypatch
):
    """A value holding NUL through the escape \\u0000 (the only way JSON writes one): the pre-pass does
    not vouch for the NUL rule, the straight write tests it and falls back, and the checked path
    quarantines that line alone; without the escape the pre-pass vouches for it."""
    shapes = _spy(monkeypatch)
    direct = _direct_spy(monkeypatch)
    f = bundle / "comments.jsonl"
    f.write_text(
        f.read_text(encoding="utf-8") + json.dumps(record("c5", message="nul \x00 byte")) + "\n",
        encoding="utf-8",
    )
    assert "\\u0000" in f.read_text(encoding="utf-8")
    con = warehouse.connect(example_config.warehouse_path)
    try:
        res = import_bundle(con, bundle, example_config).entities["comments"]
        assert shapes[0] is not None and shapes[0].proven == frozenset()  # read fast, NUL not ruled out
        assert direct == [None]  # the row broke a rule: the checked path landed the batch
        assert (res.rows_in, res.inserted, res.quarantined) == (5, 4, 1)
        assert con.execute("select source_line, rule, reason from tertulia.quarantine").fetchall() == [
            (5, "nul_byte", "message contains a NUL byte")
        ]
        # The line fixed and the file imported again: the pre-pass vouches for the NUL rule now; c1 to c4
        # are in raw already, so the checked path lands c5 and releases its quarantined line.
        f.write_text("".join(json.dumps(r) + "\n" for r in [*RECORDS, record("c5", message="nul byte")]))
        again = import_bundle(con, bundle, example_config).entities["comments"]
        assert shapes[1].proven == frozenset({"nul_byte"})
        assert (again.inserted, again.updated, again.quarantined, again.released) == (1, 0, 0, 1)
    finally:
        con.close()


def test_connectors_proven_rules_are_left_out_of_the_straight_writes_checks_only():
    import duckdb

    import connectors.landing as landing
    from tertulia.contract import ENTITIES

    ent = ENTITIES["comments"]
    select, ctx = _empty_rows_select(ent)
    con = duckdb.connect()
    every, reasons, _ = landing._checked_select(con, ent, select, [], "s", ctx, ordered=False)
    vouched, reasons_vouched, _ = landing._checked_select(
        con, ent, select, [], "s", ctx, ordered=False, proven=frozenset({"nul_byte"})
    )
    assert every.count("'nul_byte'") == len(ent.columns) and "'nul_byte'" not in vouched
    assert reasons_vouched == reasons  # the reasons (the checked path's) keep every rule
    # Only what a reader can vouch for: a caller cannot switch off another rule.
    with pytest.raises(ValueError, match="nul_byte"):
        landing.land_relation(
            con,
            "comments",
            select,
            source="s",
            batch_id="b",
            expected_rows=1,
            proven=frozenset({"bad_timestamp"}),
        )
