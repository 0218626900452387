"""The page files of dashboards/ turned into Superset's import bundle, in both languages, without
Superset (build.py imports it only to import the bundle): fast checks of what the browser test cannot
reach in one run (English, bad labels)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("dashboards_build", REPO / "dashboards" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

FACTS = {"community": "Café Tertulia", "timezone": "America/Guayaquil", "member_names": False}


@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_page_becomes_a_dashboard_with_its_charts(lang):
    files = build.bundle_files(Path("/srv/published/tertulia_marts.duckdb"), lang, FACTS)
    dashboards = {k: yaml.safe_load(v) for k, v in files.items() if k.startswith("dashboards/")}
    assert sorted(d["slug"] for d in dashboards.values()) == sorted(build.PAGES)
    chart_uuids = {yaml.safe_load(v)["uuid"] for k, v in files.items() if k.startswith("charts/")}
    placed = {
        c["meta"]["uuid"]
        for d in dashboards.values()
        for c in d["position"].values()
        if isinstance(c, dict) and c.get("type") == "CHART"
    }
    assert placed == chart_uuids  # every chart is on a page, no page points at a missing chart
    datasets = [yaml.safe_load(v) for k, v in files.items() if k.startswith("datasets/")]
    for ds in datasets:
        assert "{lbl:" not in ds["sql"] and "{member_label}" not in ds["sql"], ds["table_name"]
    db = yaml.safe_load(files["databases/tertulia_marts.yaml"])
    assert db["sqlalchemy_uri"] == "duckdb:////srv/published/tertulia_marts.duckdb"
    assert db["extra"]["engine_params"]["connect_args"] == {"read_only": True}
    care = dashboards["dashboards/care.yaml"]
    expected = {
        "es": ("Atención", "Día de llegada (America/Guayaquil)"),
        "en": ("Care", "Arrival day (America/Guayaquil)"),
    }
    assert care["dashboard_title"] == expected[lang][0]
    care_items = next(d for d in datasets if d["table_name"] == "care_sla_items")
    labels = {c["column_name"]: c["verbose_name"] for c in care_items["columns"]}
    assert labels["arrived_day"] == expected[lang][1]
    tables = [yaml.safe_load(v) for k, v in files.items() if k.startswith("charts/")]
    assert all(t["params"]["allow_render_html"] is False for t in tables if t["viz_type"] == "table")
    word = {"es": "'Cumplido'", "en": "'Met'"}[lang]
    assert f"when 'met' then {word}" in care_items["sql"]


def test_member_names_are_shown_when_the_community_publishes_them():
    def contributors(member_names: bool) -> str:
        files = build.bundle_files(Path("/p.duckdb"), "en", {**FACTS, "member_names": member_names})
        return yaml.safe_load(files["datasets/tertulia_marts/community_top_contributors.yaml"])["sql"]

    assert "coalesce(m.member_name, 'Member ' || left(m.author_id, 6))" in contributors(True)
    assert "member_name" not in contributors(False)
    assert "'Member ' || left(m.author_id, 6) as member_label" in contributors(False)


def test_a_label_split_by_an_unquoted_comma_is_refused_with_its_place():
    label = yaml.safe_load("{es: sin respuesta, con tiempo, en: unanswered}")
    with pytest.raises(build.PageError, match=r"pages/care.yaml:charts.x.*quote texts that contain a comma"):
        build._text(label, "es", "dashboards/pages/care.yaml:charts.x", FACTS)


def test_an_unknown_label_in_sql_names_the_file():
    with pytest.raises(
        build.PageError, match=r"pages/x.yaml:datasets.d: \{lbl:nope\} is not in dashboards/labels.yaml"
    ):
        build._sql("select {lbl:nope}", {}, "es", "dashboards/pages/x.yaml:datasets.d", FACTS)
