"""The dashboards a community manager opens (issue 23): `tertulia demo` publishes the marts, dashboards/
build.py imports the pages into Superset, Superset serves them, and headless chromium opens each page.

Each page must render without a chart error and show figures equal to the published marts, computed
here with plain SQL on the marts and time zones converted with zoneinfo (not with the dashboards' SQL).
Costs 2.5 minutes on the quiet reference machine (the demo, Superset's set-up and import ~1.5; six
pages opened twice, DOM and screenshot, ~1), about 6.5 when its two cores are shared. `TERTULIA_UPDATE_DOCS=1` copies the screenshots to
docs/dashboards-<page>.png.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BI_PYTHON = REPO / ".venv-bi" / "bin" / "python"
PAGES = ("care", "engagement", "content", "community", "crises", "trends")
pytestmark = [pytest.mark.integration, pytest.mark.browser]

# What Superset 6.1 puts in the page when a chart fails: an Ant Design alert ("Data error" and the
# database's message, for example DuckDB's Binder Error). Found by building a page whose metric names a
# missing column: its DOM had these, the six real pages had none. Warnings (row limit reached) are
# icons, not alerts, and do not match.
ERROR_MARKERS = ('class="ant-alert ', "Data error", "Unexpected error")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(home: Path, port: int):
    log = (home / "serve.log").open("w", encoding="utf-8")  # a file, not a pipe nobody drains
    proc = subprocess.Popen(
        [
            str(BI_PYTHON),
            str(REPO / "dashboards" / "build.py"),
            "serve",
            "--home",
            str(home),
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"Superset stopped: {(home / 'serve.log').read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
                if resp.status == 200:
                    return proc
        except OSError:
            time.sleep(2)
    proc.kill()
    pytest.fail(f"Superset did not answer on port {port}: {(home / 'serve.log').read_text()[-3000:]}")


def _build(published: Path, home: Path, config: Path) -> None:
    res = subprocess.run(
        [str(BI_PYTHON), str(REPO / "dashboards" / "build.py"), "build", "--published", str(published)]
        + ["--home", str(home), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]


@pytest.fixture(scope="module")
def site(tmp_path_factory, chromium):
    if not BI_PYTHON.exists():
        pytest.skip(".venv-bi is missing: `make dashboards` (or `make test`) installs Superset there")
    base = tmp_path_factory.mktemp("dashboards")
    data = yaml.safe_load((REPO / "community.example.yml").read_text(encoding="utf-8"))
    data["warehouse"] = {
        **data["warehouse"],
        "path": str(base / "warehouse.duckdb"),
        "publish_dir": str(base / "published"),
    }
    data["bundle_dir"] = str(base / "sample")
    config = base / "community.yml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    # The demo as a user runs it: its own Prefect home and temporary server, not the API of a server
    # another test of this session started (which may be gone or busy by now).
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_UI_URL")}
    env["PREFECT_HOME"] = str(base / "prefect")
    demo = subprocess.run(
        [str(Path(sys.executable).with_name("tertulia")), "demo", "--config", str(config)],
        cwd=base,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    published = base / "published" / "tertulia_marts.duckdb"
    home = base / "bi"
    _build(published, home, config)
    port = _free_port()
    proc = _serve(home, port)
    try:
        yield {"chromium": chromium, "url": f"http://127.0.0.1:{port}", "published": published, "base": base}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _open(site, page: str, *, shown: tuple = (), contains: tuple = ()) -> str:
    """The page's DOM once its charts have loaded the figures a test looks for.

    A dump taken by a virtual-time budget is a moment, and on a busy machine that moment can come before
    the React tree has mounted (a CI run) or before a chart's query has answered (another CI run: the
    engagement page without its top post's interactions). So the page is loaded again with more time,
    up to four loads, until it holds charts and every expected value; the tests' assertions are then
    made on that DOM, unchanged, and a value that never appears still fails them.
    """
    url = f"{site['url']}/superset/dashboard/{page}/?standalone=1"

    def ready(dom: str) -> bool:
        return (
            ("dashboard-component-chart-holder" in dom or "chart-container" in dom)
            and all(_shown(dom, value) for value in shown)
            and all(text in dom for text in contains)
        )

    for budget_ms in (30000, 60000, 90000, 120000):
        dom = site["chromium"].run(url, "--dump-dom", budget_ms=budget_ms, window="1400,2000")
        if ready(dom):
            break
    assert "dashboard-component-chart-holder" in dom or "chart-container" in dom, (
        f"{page}: no chart on the page"
    )
    found = [m for m in ERROR_MARKERS if m in dom]
    assert not found, f"{page}: error on the page ({found})"
    shot = site["base"] / f"dashboards-{page}.png"
    site["chromium"].run(url, f"--screenshot={shot}", budget_ms=30000, window="1400,2000")
    assert shot.exists() and shot.stat().st_size > 20_000
    if os.environ.get("TERTULIA_UPDATE_DOCS") == "1":
        shutil.copy(shot, REPO / "docs" / f"dashboards-{page}.png")
    return dom


def _shown(dom: str, text: object) -> bool:
    """The value is a whole text node of the page (a big number, a table cell)."""
    return re.search(r">\s*" + re.escape(str(text)) + r"\s*<", dom) is not None


def _marts(site, sql: str, params: list | None = None):
    con = duckdb.connect(str(site["published"]), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _local(site, instant) -> str:
    (tz,) = _marts(site, "select any_value(timezone) from published_marts")[0]
    return instant.astimezone(UTC).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def test_care_shows_the_sla_counts_owners_and_what_is_at_risk(site):
    counts = dict(_marts(site, "select status, count(*) from fct_sla_events group by status"))
    names = [name for (name,) in _marts(site, "select display_name from dim_team")]
    # The at-risk item due first, its deadline in the community's local time.
    (due,) = _marts(site, "select min(sla_breach_at) from fct_sla_events where status = 'at_risk'")[0]
    statuses = ("met", "breached", "at_risk", "pending")
    dom = _open(
        site,
        "care",
        shown=(*(counts.get(status, 0) for status in statuses), _local(site, due)),
        contains=(*names, "SLA cumplidos"),
    )
    for status in statuses:
        assert _shown(dom, counts.get(status, 0)), f"care: {status} count {counts.get(status, 0)} not shown"
    assert "SLA cumplidos" in dom and "En riesgo ahora" in dom  # the example community writes Spanish
    for name in names:
        assert name in dom
    assert _shown(dom, _local(site, due))
    assert "America/Guayaquil" in dom


def test_engagement_shows_the_top_post_and_the_goals(site):
    published_at, interactions = _marts(
        site, "select published_at, interactions from fct_post_performance order by interactions desc limit 1"
    )[0]
    (rate,) = _marts(
        site, "select actual from fct_goal_progress where is_current_period and metric = 'engagement_rate'"
    )[0]
    names = [
        name
        for (name,) in _marts(
            site, "select account_name from dim_accounts where platform in ('instagram', 'facebook')"
        )
    ]
    rate_text = f"{100 * rate:.2f} %"
    dom = _open(
        site, "engagement", shown=(interactions, _local(site, published_at), rate_text), contains=tuple(names)
    )
    assert _shown(dom, interactions)
    assert _shown(dom, _local(site, published_at))
    assert _shown(dom, rate_text)
    for name in names:
        assert name in dom


def test_content_shows_calendar_adherence(site):
    counts = dict(_marts(site, "select status, count(*) from fct_content_calendar group by status"))
    share = counts["on_time"] / (counts["on_time"] + counts.get("late", 0) + counts.get("missed", 0))
    share_text = f"{100 * share:.1f}%"
    dom = _open(site, "content", shown=(counts["on_time"], share_text))
    assert _shown(dom, counts["on_time"])
    assert _shown(dom, share_text)
    assert "5 viernes" in dom or "1 lunes" in dom  # weekdays in Spanish, numbered to sort


def test_community_shows_new_returning_at_risk_and_top_contributors(site):
    new, returning, at_risk = _marts(
        site,
        "select count(*) filter (is_new), count(*) filter (is_returning), count(*) filter (is_at_risk) from dim_members",
    )[0]
    (author,) = _marts(
        site,
        "select author_id from rpt_top_contributors_monthly where activity_rank = 1 and month_start_date = "
        "(select max(month_start_date) from rpt_top_contributors_monthly)",
    )[0]
    pseudonym = f"Miembro {author[:6]}"  # a pseudonym: the example does not publish names
    dom = _open(site, "community", shown=(new, returning, at_risk, pseudonym))
    for value in (new, returning, at_risk):
        assert _shown(dom, value)
    assert _shown(dom, pseudonym)


def test_crises_shows_each_incident_with_its_local_start(site):
    starts = [
        _local(site, started) for (started,) in _marts(site, "select started_at from fct_crisis_incidents")
    ]
    dom = _open(site, "crises", shown=(len(starts), *starts))
    assert _shown(dom, len(starts))
    for start in starts:
        assert _shown(dom, start)


def test_trends_shows_the_top_rising_term(site):
    (term,) = _marts(
        site,
        "select coalesce(surface, term) from fct_trending_terms where period = 'week' and trend in ('emerging', 'rising') "
        "and (account_id <> 'all' or platform = 'all') and period_start = "
        "(select max(period_start) from fct_trending_terms where period = 'week') order by score desc limit 1",
    )[0]
    dom = _open(site, "trends", shown=(term,))
    assert _shown(dom, term)
