"""`tertulia import` on a PostgreSQL warehouse lands what it lands on DuckDB, row for row.

The demo's sample community (seed 7, 90 days, its end pinned) is split in two batches and imported
through the CLI into a DuckDB warehouse and into a PostgreSQL one (TERTULIA_WAREHOUSE=postgresql://...):
then a third bundle written here by hand, with bad rows next to good ones (a new comment, an edit of a
comment already landed, a timestamp that is not one, a missing author, a key twice, a lifetime counter
lower than the capture the first batches landed), and a re-import of the second batch and of the third
bundle. After each import both warehouses hold the same raw rows (every column but the batch id and
load time, which name the run) and the same quarantine (file, line, record, rule and reason); the
re-imports add nothing. Then `tertulia enrich` on each scores every comment alike (the same enrichment
rows and terms; a second run scores none), and `tertulia build` on each builds the same marts
(tests/postgres/mart_compare.py states the numeric tolerance), but for the columns stamping when
rows were loaded (RUN_STAMPS).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from tertulia import pipeline
from tertulia.cli import app
from tertulia.config import load_config
from tertulia.contract import ENTITIES
from tertulia.sample import write_sample
from tests.dbt.test_incremental_equals_full import RUN_STAMPS, split_bundle
from tests.postgres import mart_compare
from tests.postgres.test_marts_on_postgres import _manifest, environment

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SAMPLE_END = dt.date(2025, 3, 20)
DATABASE = "tertulia_import"
ROLE = "tertulia_dbt"
# What names the run that wrote a raw row, not the row.
RUN_COLUMNS = {"_batch_id", "_loaded_at"}


def _config_file(folder: Path) -> Path:
    data = yaml.safe_load((REPO / "community.example.yml").read_text(encoding="utf-8"))
    data["warehouse"] = {
        **data["warehouse"],
        "path": str(folder / "warehouse.duckdb"),
        "publish_dir": str(folder / "published"),
    }
    data["bundle_dir"] = None
    folder.mkdir(parents=True)
    path = folder / "community.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _raw(duck_file: Path, pg_con) -> dict[str, tuple[list, list]]:
    """Every raw entity table and the quarantine, as sorted rows, from both warehouses."""
    out = {}
    duck = duckdb.connect(str(duck_file), read_only=True)
    try:
        for name, ent in ENTITIES.items():
            cols = [
                c for c in [*ent.column_names, "_extra", "_source", "_source_line"] if c not in RUN_COLUMNS
            ]
            select = ", ".join(f'cast("{c}" as varchar)' for c in cols)
            sql = f"select {select} from raw.{name} order by 1, 2, 3"  # noqa: S608 - contract names
            with pg_con.cursor() as cur:
                cur.execute(sql.replace("as varchar", "as text"))
                pg_rows = [tuple(r) for r in cur.fetchall()]
            out[f"raw.{name}"] = (duck.execute(sql).fetchall(), pg_rows)
        quarantine = (
            "select entity, source, source_line, cast(record_key as varchar), cast(record as varchar), rule, "
            "reason, released_at is null from tertulia.quarantine order by 1, 2, 3, 6"
        )
        with pg_con.cursor() as cur:
            cur.execute(quarantine.replace("as varchar", "as text"))
            pg_rows = [tuple(r) for r in cur.fetchall()]
        out["tertulia.quarantine"] = (duck.execute(quarantine).fetchall(), pg_rows)
    finally:
        duck.close()
        pg_con.rollback()  # no snapshot (nor its table locks) held into the next import
    return out


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _bad_bundle(folder: Path, duck_file: Path) -> dict:
    """Good and bad rows beside each other, made from rows the two batches landed."""
    folder.mkdir()
    duck = duckdb.connect(str(duck_file), read_only=True)

    def first(entity: str, rest: str) -> dict:
        cols = ENTITIES[entity].column_names
        row = duck.execute(f"select {', '.join(cols)} from raw.{entity} {rest} limit 1").fetchone()  # noqa: S608
        return dict(zip(cols, row, strict=True))

    try:
        edited = first("comments", "order by updated_at nulls first, comment_id")
        last = first(
            "post_metrics", "where try_cast(impressions as bigint) > 0 order by captured_at desc, post_id"
        )
    finally:
        duck.close()
    new = {**edited, "comment_id": "pg-new-1", "message": 'hola, "amigos"\nsegunda línea ☕', "mood": "😀"}
    rows = [
        {**edited, "updated_at": "2025-03-21T09:00:00-05:00", "message": "editado", "mood": ""},  # line 1
        {**new, "updated_at": "2025-03-21T08:00:00-05:00"},  # 2: kept (newer than line 5's copy)
        {**new, "comment_id": "pg-bad-ts", "created_at": "ayer a las 5"},  # 3: bad_timestamp
        {**new, "comment_id": "pg-no-author", "author_id": " "},  # 4: missing_value
        {**new, "updated_at": "2025-03-21T07:00:00-05:00", "message": "older copy"},  # 5: duplicate
    ]
    _write_csv(folder / "comments.csv", [{k: ("" if v is None else v) for k, v in r.items()} for r in rows])
    later = (
        dt.datetime.fromisoformat(str(last["captured_at"]).replace("Z", "+00:00")) + dt.timedelta(days=1)
    ).isoformat()
    lower = {**last, "captured_at": later, "impressions": "0"}
    _write_csv(folder / "post_metrics.csv", [{k: ("" if v is None else v) for k, v in lower.items()}])
    return {"edited": edited, "series": (last["platform"], last["post_id"])}


def _import(config_file: Path, bundle: Path, env: dict[str, str]) -> str:
    with environment(env):
        result = CliRunner().invoke(app, ["import", str(bundle), "-c", str(config_file)])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def imported(tmp_path_factory, postgres_server):
    tmp = tmp_path_factory.mktemp("pg-import")
    duck_file_cfg = _config_file(tmp / "duckdb")
    pg_file_cfg = _config_file(tmp / "postgres")
    facts = write_sample(tmp / "sample", days=90, seed=7, end=SAMPLE_END)
    tz = ZoneInfo(load_config(duck_file_cfg).community.timezone)
    cuts = [facts.crisis_start + dt.timedelta(minutes=40), facts.now]
    batch1, batch2 = split_bundle(tmp / "sample", tmp / "batches", cuts, tz)
    postgres_server.create_database(DATABASE, owner=ROLE)
    url = postgres_server.url(DATABASE, ROLE)
    pg_env = {**postgres_server.env(DATABASE, ROLE), "TERTULIA_WAREHOUSE": url}
    duck_env = {"TERTULIA_WAREHOUSE": str(tmp / "duckdb" / "warehouse.duckdb")}
    duck_file = tmp / "duckdb" / "warehouse.duckdb"
    pg = postgres_server.connect(DATABASE, ROLE)
    steps: dict[str, dict] = {}
    outputs: dict[str, tuple[str, str]] = {}

    def both(name: str, bundle: Path) -> None:
        outputs[name] = (_import(duck_file_cfg, bundle, duck_env), _import(pg_file_cfg, bundle, pg_env))
        steps[name] = _raw(duck_file, pg)

    try:
        both("batch1", batch1)
        both("batch2", batch2)
        both("batch2 again", batch2)
        made = _bad_bundle(tmp / "bad", duck_file)
        both("bad", tmp / "bad")
        both("bad again", tmp / "bad")
    finally:
        pg.close()
    return {
        "steps": steps,
        "outputs": outputs,
        "made": made,
        "facts": facts,
        "configs": (duck_file_cfg, pg_file_cfg),
        "envs": (duck_env, pg_env),
        "duck_file": duck_file,
    }


def test_every_import_lands_the_same_rows_on_both_warehouses(imported):
    for step, tables in imported["steps"].items():
        for table, (duck_rows, pg_rows) in tables.items():
            assert duck_rows == pg_rows, f"after {step}: {table} differs"
    # the comparison compared the sample: the whole of it after the second batch
    after = imported["steps"]["batch2"]
    counts = imported["facts"].counts
    assert len(after["raw.comments"][1]) == counts["comments"] > 0
    assert len(after["raw.post_metrics"][1]) == counts["post_metrics"] > 0
    assert "pg-" not in json.dumps(after["tertulia.quarantine"][1])


def test_a_reimport_adds_nothing_on_postgres(imported):
    steps, outputs = imported["steps"], imported["outputs"]
    assert steps["batch2 again"] == steps["batch2"]
    assert steps["bad again"] == steps["bad"]
    for name in ("batch2 again", "bad again"):
        lines = [line for line in outputs[name][1].splitlines() if " read, " in line]
        assert lines and all(" 0 new, 0 updated, " in line for line in lines), outputs[name][1]


def test_bad_rows_are_quarantined_alike_and_good_ones_land(imported):
    steps, made = imported["steps"], imported["made"]
    before = steps["batch2"]
    after = steps["bad"]
    held = [r for r in after["tertulia.quarantine"][1] if r not in before["tertulia.quarantine"][1]]
    # hand-computed: comments.csv data rows 3 (timestamp), 4 (author) and 5 (older copy of row 2's key),
    # and the capture a day after the series' last one with 0 impressions
    found = sorted((Path(r[1]).name, r[2], r[5]) for r in held)
    assert found == [
        ("comments.csv", 3, "bad_timestamp"),
        ("comments.csv", 4, "missing_value"),
        ("comments.csv", 5, "duplicate_in_batch"),
        ("post_metrics.csv", 1, "counter_decreased"),
    ]
    reasons = {r[5]: r[6] for r in held}
    assert reasons["bad_timestamp"].startswith("created_at 'ayer a las 5' is not an ISO 8601 timestamp")
    assert reasons["missing_value"] == "author_id is empty (required)"
    assert reasons["counter_decreased"].startswith("lifetime counters lower than an earlier capture")
    assert all(r[7] for r in held)  # open
    # the good rows landed: the new comment (its newer copy, member text intact, the extra column kept)
    # and the edit of a landed comment, replaced by the newer version
    comments = {(r[0], r[1]): r for r in after["raw.comments"][1]}
    cols = ENTITIES["comments"].column_names
    new = dict(zip([*cols, "_extra"], comments[(made["edited"]["platform"], "pg-new-1")], strict=False))
    assert new["message"] == 'hola, "amigos"\nsegunda línea ☕'
    assert new["updated_at"] == "2025-03-21T08:00:00-05:00"
    assert json.loads(new["_extra"]) == {"mood": "😀"}
    edited = dict(
        zip(cols, comments[(made["edited"]["platform"], made["edited"]["comment_id"])], strict=False)
    )
    assert edited["message"] == "editado" and edited["updated_at"] == "2025-03-21T09:00:00-05:00"
    assert len(after["raw.comments"][1]) == len(before["raw.comments"][1]) + 1


def _enriched(duck_file: Path, pg_con) -> dict[str, tuple[list, list]]:
    """raw.comment_enrichment (without enriched_at, the run's clock) and raw.comment_terms, sorted.
    Scores compare exactly: the same double, carried to the server as its shortest text."""
    selects = {
        "raw.comment_enrichment": "select platform, comment_id, content_hash, language, "
        "sentiment_score, sentiment_label, intent, priority, keywords, "
        "model_version from raw.comment_enrichment order by 1, 2",
        "raw.comment_terms": "select * from raw.comment_terms order by 1, 2, 3, 4, 5, 6, 7",
    }
    duck = duckdb.connect(str(duck_file), read_only=True)
    out = {}
    try:
        for table, sql in selects.items():
            with pg_con.cursor() as cur:
                cur.execute(sql)
                pg_rows = [tuple(r) for r in cur.fetchall()]
            out[table] = (duck.execute(sql).fetchall(), pg_rows)
    finally:
        duck.close()
        pg_con.rollback()
    return out


def _execute_on_both(imported, postgres_server, sql: str, rows: list[tuple]) -> None:
    """`sql` (`%s` parameters) once per row of parameters on both warehouses, committed."""
    duck = duckdb.connect(str(imported["duck_file"]))
    pg = postgres_server.connect(DATABASE, ROLE)
    try:
        with pg.cursor() as cur:
            for row in rows:
                duck.execute(sql.replace("%s", "?"), list(row))
                cur.execute(sql, row)
        pg.commit()
    finally:
        duck.close()
        pg.close()


def _rescore_on_both(imported, postgres_server, enriched) -> None:
    """Three comments an earlier engine scored (set by hand on both warehouses: another version, a
    label this engine does not give them) are scored again by `enrich --rescore` on both, whenever
    they landed, and by nothing else: the ordinary run before it leaves them."""
    from enrichment.sentiment import ENGINE_VERSION

    (duck_file_cfg, pg_file_cfg), (duck_env, pg_env) = imported["configs"], imported["envs"]
    keys = [row[:2] for row in enriched["raw.comment_enrichment"][0] if row[5] != "positive"][:3]
    assert len(keys) == 3
    stale = (
        "update raw.comment_enrichment set model_version = 'lexicon-0', sentiment_label = 'positive' "
        "where platform = %s and comment_id = %s"
    )
    _execute_on_both(imported, postgres_server, stale, keys)
    assert [_enrich(duck_file_cfg, duck_env), _enrich(pg_file_cfg, pg_env)] == ["Enriched 0 comments.\n"] * 2
    rescored = f"Enriched 3 comments (every one now scored by {ENGINE_VERSION}).\n"
    both = [_enrich(duck_file_cfg, duck_env, "--rescore"), _enrich(pg_file_cfg, pg_env, "--rescore")]
    assert both == [rescored] * 2
    pg = postgres_server.connect(DATABASE, ROLE)
    try:
        assert _enriched(imported["duck_file"], pg) == enriched  # the same scores and terms as before
    finally:
        pg.close()


def _scores_rounded(rows: list) -> list[tuple]:
    """Rows with the sentiment score (5th column of an enrichment row) to 9 decimals: the same double
    on both engines, printed alike."""
    return [
        tuple(round(v, 9) if i == 4 and isinstance(v, float) else v for i, v in enumerate(r)) for r in rows
    ]


def _enrich(config_file: Path, env: dict[str, str], *options: str) -> str:
    with environment(env):
        result = CliRunner().invoke(app, ["enrich", "-c", str(config_file), *options])
    assert result.exit_code == 0, result.output
    return result.output


def test_enrich_then_build_on_postgres_give_duckdbs_rows_and_marts(imported, postgres_server):
    duck_file_cfg, pg_file_cfg = imported["configs"]
    duck_env, pg_env = imported["envs"]
    as_of = imported["facts"].now
    comments = len(imported["steps"]["bad again"]["raw.comments"][1])
    outputs = [_enrich(duck_file_cfg, duck_env), _enrich(pg_file_cfg, pg_env)]
    assert outputs == [f"Enriched {comments} comments.\n"] * 2
    # a second run scores nothing on either
    assert [_enrich(duck_file_cfg, duck_env), _enrich(pg_file_cfg, pg_env)] == ["Enriched 0 comments.\n"] * 2
    pg = postgres_server.connect(DATABASE, ROLE)
    try:
        enriched = _enriched(imported["duck_file"], pg)
    finally:
        pg.close()
    for table, (duck_rows, pg_rows) in enriched.items():
        assert len(duck_rows) > 0, table
        assert duck_rows == pg_rows, f"{table} differs"
    assert len(enriched["raw.comment_enrichment"][1]) == comments
    _rescore_on_both(imported, postgres_server, enriched)
    with environment(duck_env):
        duck_cfg = load_config(duck_file_cfg)
        result = pipeline.build(duck_cfg, as_of=as_of, run_tests=False)
        assert result.success
        manifest = _manifest(duck_cfg)
    with environment(pg_env):
        pg_cfg = load_config(pg_file_cfg)
        assert pg_cfg.on_postgres
        result = pipeline.build(pg_cfg, as_of=as_of, run_tests=False)
        assert result.success, [f"{n.name}: {n.message[:300]}" for n in result.failures]
    marts = sorted(
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["schema"] == "marts"
    )
    assert len(marts) >= 15
    duck = duckdb.connect(str(imported["duck_file"]), read_only=True)
    pg = postgres_server.connect(DATABASE, ROLE)
    differences, empty = {}, []
    try:
        for name in marts:
            columns = duck.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'marts' and table_name = ? order by ordinal_position",
                [name],
            ).fetchall()
            # without the columns stamping when the rows were loaded (each warehouse loaded its own)
            columns = [(c, t) for c, t in columns if c not in RUN_STAMPS.get(name, set())]
            select = "select " + ", ".join(f'"{c}"' for c, _ in columns) + f" from marts.{name}"
            duck_rows = duck.execute(select).fetchall()
            with pg.cursor() as cur:
                cur.execute(select)
                pg_rows = cur.fetchall()
            if not duck_rows:
                empty.append(name)
            found = mart_compare.differences(columns, duck_rows, pg_rows)
            if found:
                differences[name] = found
    finally:
        duck.close()
        pg.close()
    assert not differences, json.dumps(differences, indent=1, default=str)
    assert len(marts) - len(empty) >= 10, empty  # the comparison compared rows
    # the planted crisis, found from the enriched sentiment on both
    assert "fct_crisis_incidents" not in empty


def _status(config_file: Path, env: dict[str, str]) -> list[str]:
    """The lines of `tertulia status` naming comments an earlier sentiment engine scored."""
    with environment(env):
        result = CliRunner().invoke(app, ["status", "-c", str(config_file)])
    assert result.exit_code == 0, result.output
    return [x for x in result.output.splitlines() if "earlier sentiment engine" in x]


def test_status_names_the_comments_an_earlier_engine_scored_until_a_rescore(imported, postgres_server):
    """Last in this file: it leaves every comment scored by this engine, as the test above does.
    The same count on both warehouses: the grouped query of enrichment.versions, run on the server."""
    from enrichment.sentiment import ENGINE_VERSION

    (duck_cfg, pg_cfg), (duck_env, pg_env) = imported["configs"], imported["envs"]
    # imported but not scored yet (run alone), or scored by this engine (after the test above): nothing
    assert [_status(duck_cfg, duck_env), _status(pg_cfg, pg_env)] == [[], []]
    _enrich(duck_cfg, duck_env)
    _enrich(pg_cfg, pg_env)
    assert [_status(duck_cfg, duck_env), _status(pg_cfg, pg_env)] == [[], []]
    stale = (
        "update raw.comment_enrichment set model_version = 'lexicon-5' where (platform, comment_id) in "
        "(select platform, comment_id from raw.comment_enrichment order by platform, comment_id limit 3)"
    )
    _execute_on_both(imported, postgres_server, stale, [()])
    sentence = (
        f"3 comments were scored by an earlier sentiment engine (lexicon-5) than this one ({ENGINE_VERSION}), "
        "so crisis baselines compare old and new scores: run `tertulia enrich --rescore`, then the next "
        "`tertulia run` updates the marts."
    )
    assert [_status(duck_cfg, duck_env), _status(pg_cfg, pg_env)] == [[sentence], [sentence]]
    rescored = f"Enriched 3 comments (every one now scored by {ENGINE_VERSION}).\n"
    assert [_enrich(duck_cfg, duck_env, "--rescore"), _enrich(pg_cfg, pg_env, "--rescore")] == [rescored] * 2
    assert [_status(duck_cfg, duck_env), _status(pg_cfg, pg_env)] == [[], []]
