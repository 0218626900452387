"""The demo's community (tertulia.sample, 90 days, seed 7, as `make demo` writes it) through import,
enrichment and dbt: fct_trending_terms exists, passes its data tests, and the planted crisis's words are
emerging or rising in the day and the week that hold its start; the digest, the weekly report and the
trend alert show them."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from tertulia import pipeline
from tertulia.config import example_config_in
from tertulia.dbt_runner import run_dbt
from tertulia.sample import TZ, write_sample

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    work = tmp_path_factory.mktemp("trends-demo")
    config = example_config_in(work)
    facts = write_sample(work / "bundle", days=90, seed=7)
    pipeline.prepare_warehouse(config)
    pipeline.import_files(config)
    pipeline.enrich(config)
    pipeline.build(
        config, select="+fct_trending_terms +fct_crisis_incidents", as_of=facts.now, run_tests=False
    )
    return config, facts


@pytest.fixture
def con(demo):
    config, _ = demo
    c = duckdb.connect(str(config.warehouse_path), read_only=True)
    yield c
    c.close()


def _local(facts) -> dt.datetime:
    """The crisis start in the community's local time (its day and week are local)."""
    return facts.crisis_start.replace(tzinfo=dt.UTC).astimezone(TZ)


def test_trend_models_pass_their_data_tests(demo):
    config, facts = demo
    result = run_dbt(
        config,
        [
            "test",
            "--select",
            "stg_social__comment_terms int_terms_mentioned int_terms_counted int_terms_baselined "
            "int_term_labels fct_trending_terms",
        ],
        as_of=facts.now,
    )
    assert result.success, [(n.name, n.message) for n in result.failures]
    # Every test of the six models ran and passed: per model one not_null_columns and one key test
    # (unique, or unique_combination_of_columns) (12), the five accepted_values on kind, period and
    # trend, and the three unit tests.
    passed = [n.name for n in result.nodes if n.status == "pass"]
    assert len(passed) == 20, sorted(passed)
    assert {
        f"not_null_{m}"
        for m in (
            "stg_social__comment_terms",
            "int_terms_mentioned",
            "int_terms_counted",
            "int_terms_baselined",
            "int_term_labels",
            "fct_trending_terms",
        )
    } <= set(passed)


@pytest.mark.parametrize("period", ["day", "week"])
def test_planted_crisis_words_emerge_in_the_period_of_its_start(demo, con, period):
    _, facts = demo
    day = _local(facts).date()
    start = day if period == "day" else day - dt.timedelta(days=day.weekday())
    rows = con.execute(
        "select surface, trend, authors, baseline_authors from marts.fct_trending_terms "
        "where platform = 'all' and account_id = 'all' and period = ? and period_start = ? "
        "and surface in ('vidrio', 'reembolso', 'refund')",
        [period, start],
    ).fetchall()
    got = {surface: (trend, authors, baseline) for surface, trend, authors, baseline in rows}
    assert set(got) == {"vidrio", "reembolso", "refund"}
    for surface, (trend, authors, _) in got.items():
        assert trend in ("emerging", "rising"), (surface, got[surface])
        assert authors >= 3
    # glass in a coffee bag was never a topic before the crisis
    assert got["vidrio"][0] == "emerging" and got["vidrio"][2] == 0


def test_the_crisis_account_sees_it_too(demo, con):
    _, facts = demo
    platform, _post = facts.crisis_post.split(":", 1)
    day = _local(facts).date()
    trend = con.execute(
        "select trend from marts.fct_trending_terms where period = 'day' and period_start = ? "
        "and platform = ? and account_id <> 'all' and surface = 'vidrio'",
        [day, platform],
    ).fetchall()
    assert trend == [("emerging",)]


def test_brand_and_team_words_are_not_terms(con):
    # the brand's crisis answer ("Retiramos el lote ... te contactamos por DM") is the brand speaking
    assert (
        con.execute(
            "select count(*) from intermediate.int_terms_mentioned as m "
            "join intermediate.int_comments_authored as a using (platform, comment_id) where a.is_brand"
        ).fetchone()[0]
        == 0
    )
    assert con.execute(
        "select count(*) from marts.fct_trending_terms where term in ('@cafetertulia', '@cafetertuliaquito')"
    ).fetchone() == (0,)


def test_digest_weekly_report_and_alert_show_the_crisis_words(demo, con):
    from alerts.digest import collect
    from alerts.trend_rules import trend_alerts
    from tertulia.weekly import to_markdown, weekly_report

    config, facts = demo
    local = _local(facts)
    day = local.date()
    digest = dict(collect(con, config, day).facts)
    assert digest["Rising terms"].startswith("vidrio (")
    report = weekly_report(con, config, day - dt.timedelta(days=day.weekday()))
    assert report.rising_line().startswith("Rising this week: vidrio (")
    md = to_markdown(report)
    assert "## Rising this week" in md and "| vidrio | word |" in md
    # the crisis watch alerts on vidrio and reembolso itself: the trend alert names the crisis instead
    alerts = trend_alerts(con, config, dt.datetime.combine(day, dt.time(23, 0)))
    assert [a.dedupe_key.startswith("trend:crisis:") for a in alerts] == [True]
    facts_of = dict(alerts[0].facts)
    assert "vidrio" not in facts_of["Rising terms"] and "reembolso" not in facts_of["Rising terms"]
    assert facts_of["Crisis watch"].startswith(f"episode on {facts.crisis_post.split(':')[0]}:")
