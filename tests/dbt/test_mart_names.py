"""One prefix rule for mart names (DEVELOPERS.md, "Mart names"; models/overview.md): `dim_` one row per
entity, `fct_` one row per event or entity instance, `agg_` a measure aggregated by the time grain its
suffix names, `rpt_` a ranking or recommendation for one question. Before the rule, two daily
aggregates were named `agg_response_times_daily` and `fct_engagement_daily`."""

from __future__ import annotations

import re

from tertulia.dbt_runner import PROJECT_DIR

MARTS = PROJECT_DIR / "models" / "marts"
GRAINS = ("hourly", "daily", "weekly", "monthly", "quarterly")


def mart_name_problem(name: str) -> str | None:
    """Why a mart's name breaks the rule, or None."""
    prefix = name.split("_", 1)[0]
    if prefix not in ("dim", "fct", "agg", "rpt") or not re.fullmatch(r"[a-z][a-z0-9_]*[a-z0-9]", name):
        return "starts with none of dim_, fct_, agg_, rpt_ (lower case, no trailing _)"
    grain = name.rsplit("_", 1)[1]
    if prefix == "agg" and grain not in GRAINS:
        return f"an agg_ mart ends with its time grain ({', '.join(GRAINS)})"
    if prefix in ("dim", "fct") and grain in GRAINS:
        return f"ends with the time grain _{grain}: a measure per {grain} period is an agg_ mart"
    return None


def test_the_rule_accepts_and_rejects_names_as_written():
    assert mart_name_problem("agg_engagement_daily") is None
    assert mart_name_problem("fct_crisis_signals") is None
    assert mart_name_problem("rpt_top_contributors_monthly") is None  # a ranking per month is a report
    assert "agg_" in mart_name_problem("fct_engagement_daily")
    assert "time grain" in mart_name_problem("agg_engagement")
    assert "none of" in mart_name_problem("engagement_daily")
    assert "none of" in mart_name_problem("mart_posts")


def test_every_mart_follows_the_prefix_rule():
    names = sorted(p.stem for p in MARTS.rglob("*.sql"))
    assert len(names) >= 15  # the walk found the marts
    wrong = {n: mart_name_problem(n) for n in names if mart_name_problem(n)}
    assert wrong == {}
