"""Build Tertulia's Superset dashboards from the pages in dashboards/pages/ and the published marts.

Runs in the dashboards' own virtualenv (.venv-bi, `make dashboards`), never in the pipeline's: Superset
pins its own Flask and SQLAlchemy stack. Each page file declares its datasets (SQL over the published
DuckDB file), charts and layout, with every label in Spanish and English; this script picks the
community's language, turns the pages into a Superset import bundle (the YAML format Superset's own
export writes) and imports it into a Superset whose state lives in data/dashboards/.

    build.py build --published data/published/tertulia_marts.duckdb --home data/dashboards [--lang es]
    build.py serve --home data/dashboards [--port 8088]
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import uuid
import warnings
import zipfile
from pathlib import Path

import duckdb
import yaml

HERE = Path(__file__).resolve().parent
PAGES = ("care", "engagement", "content", "community", "crises", "trends")
LANGS = ("es", "en")
# uuid5 names: the same page file gives the same ids, so a rebuild overwrites instead of duplicating.
NAMESPACE = uuid.UUID("6b0f3c9e-2f4d-4c59-9a57-9b1f4a3e7d21")
DATABASE_NAME = "Tertulia marts"
TOKEN = re.compile(r"\{(lbl|member_label):?([a-z0-9_]*)\}")


class PageError(ValueError):
    """A page file that cannot be turned into dashboards; the message names the file and key."""


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def superset_env(home: Path) -> dict[str, str]:
    """The environment every Superset process of this project runs with (build, serve, tests)."""
    env = dict(os.environ)
    env.update(
        SUPERSET_CONFIG_PATH=str(HERE / "superset_config.py"),
        TERTULIA_BI_HOME=str(home.resolve()),
        FLASK_APP="superset.app:create_app()",
        DO_NOT_TRACK="1",
        SCARF_ANALYTICS="false",
        PYTHONWARNINGS="ignore",
    )
    return env


def community_facts(published: Path) -> dict[str, object]:
    """Name, time zone and member-name columns of the published file the dashboards will read."""
    if not published.exists():
        raise SystemExit(
            f"{published}: no published marts. Run `make demo` (or `tertulia run`) first: the "
            "pipeline writes them after every successful build."
        )
    con = duckdb.connect(str(published), read_only=True)
    try:
        row = con.execute(
            "select any_value(community_name), any_value(timezone) from published_marts"
        ).fetchone()
        names = con.execute(
            "select 1 from information_schema.columns where table_name = 'dim_members' and column_name = 'member_name'"
        ).fetchone()
    finally:
        con.close()
    return {"community": row[0], "timezone": row[1], "member_names": names is not None}


def _text(value: object, lang: str, where: str, facts: dict) -> str:
    """A label: {es: ..., en: ...} in the chosen language, with {tz} and {community} filled in."""
    if isinstance(value, dict):
        if set(value) != set(LANGS):
            # An unquoted comma in a YAML flow mapping ({es: a, b, en: c}) splits the text into keys.
            raise PageError(
                f"{where}: a label needs exactly the keys {', '.join(LANGS)}, got {', '.join(map(str, value))}; "
                "quote texts that contain a comma"
            )
        value = value[lang]
    if not isinstance(value, str):
        raise PageError(f"{where}: expected text, got {value!r}")
    return value.replace("{tz}", str(facts["timezone"])).replace("{community}", str(facts["community"]))


def _sql(sql: str, labels: dict, lang: str, where: str, facts: dict) -> str:
    def sub(match: re.Match) -> str:
        kind, key = match.groups()
        if kind == "member_label":
            # Member display names are published only with members.publish_names: true; otherwise
            # the pseudonym's first characters are what a manager can match across pages.
            word = _text(labels["member"], lang, "labels.yaml:member", facts)
            pseudonym = f"{_sql_literal(word + ' ')} || left(m.author_id, 6)"
            return f"coalesce(m.member_name, {pseudonym})" if facts["member_names"] else pseudonym
        if key not in labels:
            raise PageError(f"{where}: {{lbl:{key}}} is not in dashboards/labels.yaml")
        return _sql_literal(_text(labels[key], lang, f"labels.yaml:{key}", facts))

    return TOKEN.sub(sub, sql)


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def bundle_files(published: Path, lang: str, facts: dict) -> dict[str, str]:
    """The import bundle: Superset's export layout, file name -> YAML text."""
    labels = yaml.safe_load((HERE / "labels.yaml").read_text(encoding="utf-8"))
    db_uuid = _uuid("database")
    files = {
        "metadata.yaml": {"version": "1.0.0", "type": "Dashboard", "timestamp": "2026-01-01T00:00:00+00:00"},
        "databases/tertulia_marts.yaml": {
            "database_name": DATABASE_NAME,
            "sqlalchemy_uri": f"duckdb:///{published.resolve()}",
            "cache_timeout": None,
            "expose_in_sqllab": True,
            "allow_run_async": False,
            "allow_ctas": False,
            "allow_cvas": False,
            "allow_dml": False,
            "allow_file_upload": False,
            # Read-only: the pipeline replaces the file after each run; a reader never locks it.
            "extra": {
                "engine_params": {"connect_args": {"read_only": True}},
                "allows_virtual_table_explore": True,
            },
            "uuid": db_uuid,
            "version": "1.0.0",
        },
    }
    pages = {
        slug: yaml.safe_load((HERE / "pages" / f"{slug}.yaml").read_text(encoding="utf-8")) for slug in PAGES
    }
    titles = {slug: _text(p["title"], lang, f"pages/{slug}.yaml:title", facts) for slug, p in pages.items()}
    for slug, page in pages.items():
        where = f"dashboards/pages/{slug}.yaml"
        for name, ds in page["datasets"].items():
            files[f"datasets/tertulia_marts/{name}.yaml"] = _dataset(
                name, ds, labels, lang, f"{where}:datasets.{name}", facts, db_uuid
            )
        for chart in page["charts"]:
            files[f"charts/{chart['id']}.yaml"] = _chart(
                chart, page, lang, f"{where}:charts.{chart['id']}", facts
            )
        files[f"dashboards/{slug}.yaml"] = _dashboard(slug, page, titles, lang, where, facts)
    return {k: yaml.safe_dump(v, allow_unicode=True, sort_keys=False) for k, v in files.items()}


def _dataset(name: str, ds: dict, labels: dict, lang: str, where: str, facts: dict, db_uuid: str) -> dict:
    columns = []
    for col, spec in (ds.get("columns") or {}).items():
        spec = spec or {}
        columns.append(
            {
                "column_name": col,
                "verbose_name": _text(spec["label"], lang, f"{where}.columns.{col}", facts)
                if "label" in spec
                else None,
                "is_dttm": bool(spec.get("time")),
                "is_active": True,
                "type": spec.get("type", "VARCHAR"),
                "groupby": True,
                "filterable": True,
                "expression": None,
                "description": None,
                "python_date_format": None,
                "extra": {},
            }
        )
    metrics = [
        {
            "metric_name": m,
            "verbose_name": _text(spec["label"], lang, f"{where}.metrics.{m}", facts),
            "metric_type": None,
            "expression": spec["sql"],
            "description": None,
            "d3format": spec.get("format"),
            "extra": {},
            "warning_text": None,
        }
        for m, spec in (ds.get("metrics") or {}).items()
    ]
    return {
        "table_name": name,
        "main_dttm_col": next((c["column_name"] for c in columns if c["is_dttm"]), None),
        "description": None,
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "schema": "main",
        "sql": _sql(ds["sql"], labels, lang, where, facts),
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "normalize_columns": False,
        "always_filter_main_dttm": False,
        "uuid": _uuid("dataset", name),
        "metrics": metrics,
        "columns": columns,
        "version": "1.0.0",
        "database_uuid": db_uuid,
    }


def _chart(chart: dict, page: dict, lang: str, where: str, facts: dict) -> dict:
    if chart["dataset"] not in page["datasets"]:
        raise PageError(f"{where}: dataset {chart['dataset']!r} is not declared under datasets")
    params = {"viz_type": chart["viz"], "adhoc_filters": [], **(chart.get("params") or {})}
    if chart["viz"] == "table":
        # Members' messages are untrusted text: Superset's tables render HTML in cells unless told not to.
        params["allow_render_html"] = False
    for key in ("subheader", "x_axis_title", "y_axis_title"):
        if key in params:
            params[key] = _text(params[key], lang, f"{where}.params.{key}", facts)
    return {
        "slice_name": _text(chart["title"], lang, f"{where}.title", facts),
        "description": None,
        "certified_by": None,
        "certification_details": None,
        "viz_type": chart["viz"],
        "params": params,
        "query_context": None,
        "cache_timeout": None,
        "uuid": _uuid("chart", chart["id"]),
        "version": "1.0.0",
        "dataset_uuid": _uuid("dataset", chart["dataset"]),
    }


def _dashboard(slug: str, page: dict, titles: dict, lang: str, where: str, facts: dict) -> dict:
    charts = {c["id"]: c for c in page["charts"]}
    nav = " · ".join(
        f"**{t}**" if s == slug else f"[{t}](/superset/dashboard/{s}/)" for s, t in titles.items()
    )
    intro = _text(page["intro"], lang, f"{where}:intro", facts)
    position: dict[str, object] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": titles[slug]}},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
    }
    rows = [[{"markdown": f"{nav}\n\n{intro}", "width": 12, "height": 14}], *page["layout"]]
    for r, row in enumerate(rows):
        row_id = f"ROW-{slug}-{r}"
        position["GRID_ID"]["children"].append(row_id)
        children = []
        for c, cell in enumerate(row):
            if "markdown" in cell:
                cid, kind = f"MARKDOWN-{slug}-{r}-{c}", "MARKDOWN"
                meta = {"width": cell["width"], "height": cell.get("height", 20), "code": cell["markdown"]}
            else:
                if cell["chart"] not in charts:
                    raise PageError(f"{where}:layout: chart {cell['chart']!r} is not declared under charts")
                cid, kind = f"CHART-{cell['chart']}", "CHART"
                title = charts[cell["chart"]]["title"]
                meta = {
                    "width": cell["width"],
                    "height": cell.get("height", 50),
                    # The exporter's id of the chart; the importer maps it to the local one by uuid.
                    "chartId": 1 + list(charts).index(cell["chart"]),
                    "uuid": _uuid("chart", cell["chart"]),
                    "sliceName": _text(title, lang, f"{where}:{cell['chart']}", facts),
                }
            position[cid] = {
                "type": kind,
                "id": cid,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": meta,
            }
            children.append(cid)
        position[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": children,
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
    return {
        "dashboard_title": titles[slug],
        "description": None,
        "css": "",
        "slug": slug,
        "certified_by": None,
        "certification_details": None,
        "published": True,
        "uuid": _uuid("dashboard", slug),
        "position": position,
        "metadata": {
            "color_scheme": "supersetColors",
            "refresh_frequency": 0,
            "expanded_slices": {},
            "label_colors": {},
            "timed_refresh_immune_slices": [],
            "cross_filters_enabled": False,
            "native_filter_configuration": [],
            "default_filters": "{}",
        },
        "version": "1.0.0",
    }


def _superset(args: list[str], home: Path) -> None:
    res = subprocess.run(
        [str(Path(sys.executable).with_name("superset")), *args],
        env=superset_env(home),
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        raise SystemExit(f"`superset {' '.join(args)}` failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")


def build(published: Path, home: Path, lang: str | None, config: Path) -> str:
    facts = community_facts(published)
    if lang is None:
        lang = _community_language(config)
    files = bundle_files(published, lang, facts)
    home.mkdir(parents=True, exist_ok=True)
    (home / "language").write_text(lang, encoding="utf-8")  # superset_config.py reads it (axis dates)
    _superset(["db", "upgrade"], home)
    _superset(["init"], home)
    os.environ.update(superset_env(home))
    from flask import g
    from superset.app import create_app

    app = create_app()
    # Superset 6.1's importer trips SQLAlchemy warnings about its own session handling: nothing a
    # user can act on, and they would bury the one line that says what was built.
    with app.app_context(), app.test_request_context(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from superset import security_manager
        from superset.commands.dashboard.importers.dispatcher import ImportDashboardsCommand
        from superset.extensions import db

        admin = security_manager.find_user(username="admin") or _create_admin(security_manager, home)
        g.user = admin
        ImportDashboardsCommand(files, overwrite=True).run()
        # Readers open the dashboards without logging in: Public may read every dataset.
        public = security_manager.find_role("Public")
        for perm, view in (
            ("all_datasource_access", "all_datasource_access"),
            ("all_database_access", "all_database_access"),
        ):
            pv = security_manager.find_permission_view_menu(perm, view)
            if pv not in public.permissions:
                security_manager.add_permission_role(public, pv)
        db.session.commit()
    (home / "bundle.zip").write_bytes(_zip(files))
    return f"{len(PAGES)} dashboards ({lang}) for {facts['community']} read {published}; Superset's state in {home}"


def _create_admin(security_manager, home: Path):
    import secrets

    password = secrets.token_urlsafe(16)
    path = home / "admin_password"
    path.write_text(password + "\n", encoding="utf-8")
    path.chmod(0o600)
    role = security_manager.find_role("Admin")
    return security_manager.add_user("admin", "Tertulia", "Admin", "admin@localhost", role, password=password)


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in sorted(files.items()):
            zf.writestr(f"tertulia_dashboards/{name}", text)
    return buf.getvalue()


def _community_language(config: Path) -> str:
    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    languages = (data.get("community") or {}).get("languages") or ["en"]
    return languages[0] if languages[0] in LANGS else "en"


def serve(home: Path, port: int) -> None:
    if not (home / "superset.db").exists():
        raise SystemExit(f"{home}: no dashboards built yet; run `make dashboards` first")
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    print(f"Dashboards on http://127.0.0.1:{port}/superset/dashboard/care/ (Ctrl-C stops)", flush=True)
    os.execve(
        gunicorn,
        [
            gunicorn,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--timeout",
            "120",
            "superset.app:create_app()",
        ],
        superset_env(home),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--published", type=Path, required=True)
    b.add_argument("--home", type=Path, required=True)
    b.add_argument("--lang", choices=LANGS, help="default: the first of community.languages in --config")
    b.add_argument("--config", type=Path, default=HERE.parent / "community.example.yml")
    s = sub.add_parser("serve")
    s.add_argument("--home", type=Path, required=True)
    s.add_argument("--port", type=int, default=8088)
    args = parser.parse_args(argv)
    if args.command == "build":
        print(build(args.published, args.home, args.lang, args.config))
    else:
        serve(args.home, args.port)


if __name__ == "__main__":
    main()
