"""Each command of `tertulia --help` through its entry point: the happy path and one bad input (a
clear one-line message and exit code 1, or click's usage error and exit code 2).

The commands that start Prefect (`run`, `demo`) or dbt (`build`) are run with the flow or the build
replaced where the test is about the command, not the pipeline; `build` also runs for real in an
integration test. Expectations are counted by hand from the bundles the tests write.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from tertulia import cli

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _config_file(tmp_path: Path, **overrides) -> Path:
    """community.example.yml with its warehouse, published copy and bundle under tmp_path."""
    data = yaml.safe_load((REPO / "community.example.yml").read_text(encoding="utf-8"))
    data["warehouse"] = {
        **data["warehouse"],
        "path": str(tmp_path / "warehouse.duckdb"),
        "publish_dir": str(tmp_path / "published"),
    }
    data["bundle_dir"] = str(tmp_path / "bundle")
    data.update(overrides)
    path = tmp_path / "community.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _comment(i: int, **kw) -> dict:
    return {
        "platform": "facebook",
        "comment_id": f"c{i}",
        "post_id": "p1",
        "parent_id": None,
        "thread_id": f"c{i}",
        "author_id": f"u{i}",
        "author_name": "Ana",
        "created_at": "2026-03-01T10:00:00-05:00",
        "message": f"comentario {i}",
        "channel": "comment",
        **kw,
    }


def _bundle(folder: Path, good: int, bad_channel: bool = False) -> Path:
    """`good` comments, then (bad_channel) one whose channel is not in the contract: line good + 1."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [_comment(i) for i in range(good)]
    if bad_channel:
        rows.append(_comment(good, channel="fax"))
    (folder / "comments.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return folder


def _query(config: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(config.parent / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _invoke(*args: str):
    return runner.invoke(cli.app, [str(a) for a in args])


def _fails_with(result, code: int, message: str) -> None:
    assert result.exit_code == code, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output


def test_help_lists_the_twelve_commands():
    result = _invoke("--help")
    assert result.exit_code == 0
    for name in "sample import ingest enrich build run demo status quarantine migrate serve stop".split():
        assert f" {name} " in result.output, name


# -- sample ----------------------------------------------------------------------------------------


def test_sample_writes_a_bundle(tmp_path):
    out = tmp_path / "s"
    result = _invoke("sample", out, "--days", "3", "--end", "2026-11-20", "--format", "csv")
    assert result.exit_code == 0, result.output
    facts = json.loads((out / "_facts.json").read_text(encoding="utf-8"))
    assert result.output.startswith(f"Wrote {out}: {facts['counts']['comments']:,} comments, ")
    assert "over 3 days to 2026-11-20" in result.output
    assert (out / "comments.csv").exists() and not (out / "comments.jsonl").exists()


def test_sample_refuses_zero_days(tmp_path):
    _fails_with(_invoke("sample", tmp_path / "s", "--days", "0"), 1, "days must be at least 1 (got 0)")
    assert not (tmp_path / "s").exists()


# -- import ----------------------------------------------------------------------------------------


def test_import_lands_a_bundle_and_holds_back_the_bad_line(tmp_path):
    config = _config_file(tmp_path)
    bundle = _bundle(tmp_path / "b", 3, bad_channel=True)
    result = _invoke("import", bundle, "--config", config)
    assert result.exit_code == 0, result.output
    assert _query(config, "select count(*) from raw.comments") == [(3,)]
    assert _query(config, "select source_line, rule from tertulia.quarantine") == [(4, "unknown_value")]


def test_import_of_a_missing_folder_says_what_to_point_at(tmp_path):
    config = _config_file(tmp_path)
    _fails_with(
        _invoke("import", tmp_path / "nowhere", "--config", config),
        1,
        f"{tmp_path / 'nowhere'}: no such bundle folder",
    )


# -- enrich ----------------------------------------------------------------------------------------


def test_enrich_scores_each_landed_comment_once(tmp_path):
    config = _config_file(tmp_path)
    assert _invoke("import", _bundle(tmp_path / "b", 3), "--config", config).exit_code == 0
    first = _invoke("enrich", "--config", config)
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "Enriched 3 comments."
    assert _query(config, "select comment_id from raw.comment_enrichment order by 1") == [
        ("c0",),
        ("c1",),
        ("c2",),
    ]
    again = _invoke("enrich", "--config", config)  # nothing new, nothing edited: nothing to score
    assert again.output.strip() == "Enriched 0 comments."


def test_enrich_with_a_missing_config_names_it(tmp_path):
    _fails_with(_invoke("enrich", "--config", tmp_path / "nope.yml"), 1, "nope.yml")


# -- ingest ----------------------------------------------------------------------------------------


def test_ingest_reads_a_live_source(tmp_path, monkeypatch):
    from fakes.youtube_api import FakeYouTube

    t0 = dt.datetime(2026, 11, 16, 12, 0, tzinfo=dt.UTC)
    with FakeYouTube() as yt:
        for k, v in yt.env().items():
            monkeypatch.setenv(k, v)
        yt.add_post("p1", t0)
        yt.add_member_comment("c1", "p1", t0 + dt.timedelta(hours=1), "¿Abren el domingo?")
        yt.add_reply("r1", "c1", t0 + dt.timedelta(hours=2), "¡Sí, de 8 a 14!")
        config = _config_file(
            tmp_path,
            accounts=[{"platform": "youtube", "account_id": "youtube-brand"}],
            sources={"yt": yt.source_config()},
        )
        result = _invoke("ingest", "yt", "--config", config, "--since", "2026-11-01")
    assert result.exit_code == 0, result.output
    assert _query(config, "select platform, count(*) from raw.comments group by all") == [("youtube", 2)]
    assert _query(config, "select count(*) from raw.posts") == [(1,)]


def test_ingest_without_sources_points_at_the_docs(tmp_path):
    config = _config_file(tmp_path)  # the example configures no live source
    _fails_with(_invoke("ingest", "--config", config), 1, "no `sources:` configured; see docs/connectors.md")


# -- build -----------------------------------------------------------------------------------------


def test_build_with_a_missing_config_names_the_file(tmp_path):
    _fails_with(
        _invoke("build", "--config", tmp_path / "nope.yml"),
        1,
        f"{tmp_path / 'nope.yml'}: no such file; copy community.example.yml to start one",
    )


@pytest.mark.integration
def test_build_builds_the_selected_models(tmp_path):
    config = _config_file(tmp_path)
    bundle = _bundle(tmp_path / "b", 3)
    assert _invoke("import", bundle, "--config", config).exit_code == 0
    result = _invoke("build", "--config", config, "--select", "+dim_team +dim_accounts")
    assert result.exit_code == 0, result.output
    # The two marts and the five staging models under them: stg_social__team, stg_social__accounts,
    # stg_config__brand_accounts, and stg_social__posts and stg_social__account_metrics (accounts only
    # posts or metrics name). The other 17 nodes: their 14 data tests (one not_null_columns per model,
    # `unique` on dim_team, dim_accounts and stg_social__team, the key of accounts, posts and account
    # metrics, dim_accounts' owner in dim_team), stg_social__posts' unit test, and the project's two
    # on-run-start hooks.
    assert result.output.strip().splitlines()[-1] == "Built 7 models; 24 nodes ran."
    # The example configures six brand accounts (instagram, facebook, youtube, discord, telegram, email).
    assert _query(config, "select count(*) from marts.dim_accounts") == [(6,)]


# -- run and demo (the flow replaced: the flows' own tests run it) ---------------------------------


class _Report:
    summary_text = "the run's summary"


@pytest.fixture
def flow_calls(monkeypatch):
    import flows.pipeline

    calls: list[dict] = []
    monkeypatch.setattr(flows.pipeline, "community_pipeline", lambda **kw: calls.append(kw) or _Report())
    monkeypatch.setattr(cli, "_use_running_server", lambda: None)
    return calls


def test_run_starts_the_flow_with_the_validated_config(tmp_path, flow_calls):
    config = _config_file(tmp_path)
    result = _invoke("run", "--config", config, "--bundle-dir", tmp_path / "b", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "the run's summary"
    assert flow_calls == [
        {"config_path": str(config), "bundle_dir": str(tmp_path / "b"), "dry_run": True, "as_of": None}
    ]


def test_run_with_a_bad_setting_names_the_key_and_starts_nothing(tmp_path, flow_calls):
    config = _config_file(tmp_path, sla={"at_risk_share": "soon"})
    result = _invoke("run", "--config", config)
    _fails_with(result, 1, "at_risk_share")
    assert str(config) in result.output
    assert flow_calls == []


def test_demo_writes_the_sample_and_runs_it_as_of_its_end(tmp_path, flow_calls):
    config = _config_file(tmp_path)
    result = _invoke("demo", "--config", config, "--days", "3")
    assert result.exit_code == 0, result.output
    facts = json.loads((tmp_path / "bundle" / "_facts.json").read_text(encoding="utf-8"))
    assert result.output.startswith(f"Sample community written to {tmp_path / 'bundle'}: ")
    assert result.output.strip().endswith("the run's summary")
    assert flow_calls == [
        {
            "config_path": str(config),
            "bundle_dir": str(tmp_path / "bundle"),
            "dry_run": True,
            "as_of": facts["now"],
        }
    ]


def test_demo_refuses_zero_days_before_any_run(tmp_path, flow_calls):
    config = _config_file(tmp_path)
    _fails_with(_invoke("demo", "--config", config, "--days", "0"), 1, "days must be at least 1 (got 0)")
    assert flow_calls == []


# -- status and quarantine -------------------------------------------------------------------------


def test_status_shows_the_rows_landed(tmp_path):
    config = _config_file(tmp_path)
    assert _invoke("import", _bundle(tmp_path / "b", 3, bad_channel=True), "--config", config).exit_code == 0
    result = _invoke("status", "--config", config)
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.strip().startswith("raw.comments "))
    rows, quarantined = line.split()[1], line.split()[-1]
    assert (rows, quarantined) == ("3", "1")


def _earlier_engine_lines(output: str) -> list[str]:
    return [x for x in output.splitlines() if "earlier sentiment engine" in x]


def _summary(config: Path) -> str:
    """The run summary `tertulia run` prints, for a run with no step reports (the marts not built)."""
    from tertulia.config import load_config
    from tertulia.summary import RunReport, render_text

    return render_text(load_config(config), RunReport(started_at=dt.datetime(2026, 11, 28)))


def test_status_names_comments_an_earlier_engine_scored_until_a_rescore(tmp_path):
    from enrichment.sentiment import ENGINE_VERSION

    config = _config_file(tmp_path)
    assert _invoke("import", _bundle(tmp_path / "b", 5), "--config", config).exit_code == 0
    fresh = _invoke("status", "--config", config)  # landed, nothing scored yet: nothing to say
    assert fresh.exit_code == 0 and _earlier_engine_lines(fresh.output) == [], fresh.output
    assert _invoke("enrich", "--config", config).output == "Enriched 5 comments.\n"
    scored = _invoke("status", "--config", config)  # every comment scored by this engine
    assert scored.exit_code == 0 and _earlier_engine_lines(scored.output) == [], scored.output
    # The upgrade, simulated: three of the five rows as the engine before this one wrote them.
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        con.execute(
            "update raw.comment_enrichment set model_version = 'lexicon-5' where comment_id in ('c0', 'c2', 'c4')"
        )
    finally:
        con.close()
    upgraded = _invoke("status", "--config", config)
    assert upgraded.exit_code == 0, upgraded.output
    assert _earlier_engine_lines(upgraded.output) == [
        f"3 comments were scored by an earlier sentiment engine (lexicon-5) than this one ({ENGINE_VERSION}), "
        "so crisis baselines compare old and new scores: run `tertulia enrich --rescore`, then the next "
        "`tertulia run` updates the marts."
    ]
    # `tertulia run`'s summary (and the run's artifact in the UI) says the same, in the same words
    assert _earlier_engine_lines(_summary(config)) == _earlier_engine_lines(upgraded.output)
    # an ordinary enrichment leaves them (it never re-scores history); the re-score takes exactly them
    assert _invoke("enrich", "--config", config).output == "Enriched 0 comments.\n"
    assert len(_earlier_engine_lines(_invoke("status", "--config", config).output)) == 1
    rescored = _invoke("enrich", "--config", config, "--rescore")
    assert rescored.output == f"Enriched 3 comments (every one now scored by {ENGINE_VERSION}).\n"
    after = _invoke("status", "--config", config)
    assert after.exit_code == 0 and _earlier_engine_lines(after.output) == [], after.output
    assert _earlier_engine_lines(_summary(config)) == []


def test_status_counts_each_earlier_version_apart(tmp_path):
    config = _config_file(tmp_path)
    assert _invoke("import", _bundle(tmp_path / "b", 5), "--config", config).exit_code == 0
    assert _invoke("enrich", "--config", config).exit_code == 0
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        con.execute("update raw.comment_enrichment set model_version = 'lexicon-4' where comment_id = 'c1'")
        con.execute(
            "update raw.comment_enrichment set model_version = 'lexicon-5' where comment_id in ('c2', 'c3')"
        )
    finally:
        con.close()
    [line] = _earlier_engine_lines(_invoke("status", "--config", config).output)
    assert line.startswith(
        "3 comments were scored by an earlier sentiment engine (lexicon-4: 1, lexicon-5: 2) "
    )


def test_status_before_any_import_says_what_to_run(tmp_path):
    config = _config_file(tmp_path)
    _fails_with(_invoke("status", "--config", config), 1, "no warehouse yet; run `tertulia import`")


def test_quarantine_lists_the_held_back_row_with_its_line(tmp_path):
    config = _config_file(tmp_path)
    assert _invoke("import", _bundle(tmp_path / "b", 3, bad_channel=True), "--config", config).exit_code == 0
    result = _invoke("quarantine", "--config", config, "--entity", "comments")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 row(s) in quarantine (0 released earlier):")
    assert "comments.jsonl" in result.output and "unknown_value" in result.output


def test_quarantine_before_any_import_says_what_to_run(tmp_path):
    config = _config_file(tmp_path)
    _fails_with(_invoke("quarantine", "--config", config), 1, "no warehouse yet; run `tertulia import`")


# -- migrate (a real PostgreSQL: tests/postgres/test_migrate_cli.py) -------------------------------


def test_migrate_refuses_a_target_that_is_not_postgresql(tmp_path):
    config = _config_file(tmp_path)
    result = _invoke("migrate", "--to", str(tmp_path / "other.duckdb"), "--config", config)
    assert result.exit_code == 1, result.output
    assert "postgresql://" in result.output and "Traceback" not in result.output


# -- serve and stop --------------------------------------------------------------------------------


def test_serve_starts_with_the_config_it_validated(tmp_path, monkeypatch):
    import tertulia.serve

    seen = []
    monkeypatch.setattr(tertulia.serve, "start", lambda cfg, path: seen.append((cfg, path)) or "started")
    config = _config_file(tmp_path)
    result = _invoke("serve", "--config", config)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "started"
    ((cfg, path),) = seen
    assert path == config and cfg.warehouse_path == tmp_path / "warehouse.duckdb"


def test_serve_with_a_bad_config_starts_nothing(tmp_path, monkeypatch):
    import tertulia.serve

    monkeypatch.setattr(tertulia.serve, "start", lambda *a: pytest.fail("serve started"))
    config = _config_file(tmp_path, sla={"at_risk_share": "soon"})
    _fails_with(_invoke("serve", "--config", config), 1, "at_risk_share")


def test_stop_ends_the_served_processes_it_finds(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    # A stand-in for the server: its own process group, as `tertulia serve` starts it.
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
    reaper = threading.Thread(target=proc.wait, daemon=True)  # reaped when it ends, as init would
    reaper.start()
    try:
        (tmp_path / "server.pid").write_text(str(proc.pid))
        result = _invoke("stop")
        assert result.exit_code == 0, result.output
        assert result.output.splitlines() == ["worker: not running", f"server: stopped (pid {proc.pid})"]
        reaper.join(timeout=60)
        assert proc.returncode == -signal.SIGTERM
        assert not (tmp_path / "server.pid").exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_stop_takes_no_arguments():
    result = _invoke("stop", "everything")
    assert result.exit_code == 2
    assert "Got unexpected extra argument(s) (everything)" in result.output
