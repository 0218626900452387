"""The quality page: one self-contained HTML file of the latest quality runs, readable offline.

GX's Data Docs load their stylesheets and scripts from CDNs, so on a machine without internet they show
as unstyled text. This page is written from `tertulia.dq_results` with its style inline and no script or
remote reference, so it reads the same anywhere. Everything that comes from data (observed values,
example values, which can be member text) is HTML-escaped.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from tertulia.clock import local_label

HISTORY_RUNS = 14

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:72rem;
color:#1f2933;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem}
.sub{color:#52606d;margin-top:0}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{border-bottom:1px solid #d9e2ec;padding:.35rem .5rem;text-align:left;vertical-align:top;font-size:.92rem}
th{background:#f0f4f8}
.ok{color:#1b7a3d;font-weight:600}.bad{color:#b42318;font-weight:600}.na{color:#7b8794}
.banner{padding:.7rem 1rem;border-radius:.4rem;margin:1rem 0;font-weight:600}
.banner.ok{background:#e3f9e5}.banner.bad{background:#fde8e8}
code{background:#f0f4f8;padding:0 .2rem;border-radius:.2rem}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _status(success: bool | None) -> str:
    if success is None:
        return '<span class="na">not evaluated</span>'
    return '<span class="ok">passed</span>' if success else '<span class="bad">failed</span>'


def _examples(details: str | None) -> str:
    try:
        parsed = json.loads(details or "{}")
    except ValueError:
        return ""
    examples = parsed.get("examples") if isinstance(parsed, dict) else None
    return ", ".join(_e(x) for x in examples) if isinstance(examples, list) else ""


def render_quality_page(con: duckdb.DuckDBPyConnection, path: Path, tz: ZoneInfo) -> Path | None:
    """Write the page to `path` from the stored results; None when no run is stored yet."""
    runs = con.execute(
        "select run_id, max(run_at), max(checked_at), count(*) filter (where success is not null), "
        "count(*) filter (where success = false) "
        "from tertulia.dq_results group by run_id order by max(checked_at) desc limit ?",
        [HISTORY_RUNS],
    ).fetchall()
    if not runs:
        return None
    run_id, run_at, checked_at, _, failed_total = runs[0]
    rows = con.execute(
        'select suite, expectation, "column", success, observed, details from tertulia.dq_results '
        "where run_id = ? order by suite, success nulls last, expectation",
        [run_id],
    ).fetchall()
    suites: dict[str, list[tuple]] = {}
    for r in rows:
        suites.setdefault(r[0], []).append(r)

    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Tertulia data quality</title><style>{_STYLE}</style></head><body>",
        "<h1>Data quality</h1>",
        f"<p class='sub'>Latest check: {_e(local_label(checked_at, tz))} &middot; data as of "
        f"{_e(local_label(run_at, tz))} &middot; run <code>{_e(run_id)}</code></p>",
    ]
    failed_suites = [s for s, rs in suites.items() if any(r[3] is False for r in rs)]
    if failed_total:
        out.append(
            f"<div class='banner bad'>{failed_total} check(s) failed in {len(failed_suites)} table(s): "
            f"{_e(', '.join(failed_suites))}. Alerts that read a failed mart are held until it passes.</div>"
        )
    else:
        out.append("<div class='banner ok'>Every check passed.</div>")

    out.append("<h2>Tables checked</h2><table><tr><th>table</th><th>passed</th><th>failed</th>"
               "<th>not evaluated</th></tr>")  # fmt: skip
    for suite, rs in suites.items():
        passed = sum(1 for r in rs if r[3] is True)
        failed = sum(1 for r in rs if r[3] is False)
        na = sum(1 for r in rs if r[3] is None)
        cls = "bad" if failed else "ok"
        out.append(
            f"<tr><td>{_e(suite)}</td><td>{passed}</td><td class='{cls}'>{failed}</td><td>{na}</td></tr>"
        )
    out.append("</table>")

    if failed_suites:
        out.append("<h2>What failed</h2><table><tr><th>table</th><th>check</th><th>column</th>"
                   "<th>observed</th><th>examples</th></tr>")  # fmt: skip
        for suite in failed_suites:
            for r in suites[suite]:
                if r[3] is False:
                    out.append(
                        f"<tr><td>{_e(suite)}</td><td>{_e(r[1])}</td><td>{_e(r[2])}</td>"
                        f"<td>{_e(r[4])}</td><td>{_examples(r[5])}</td></tr>"
                    )
        out.append("</table>")

    out.append("<h2>Every check of the latest run</h2><table><tr><th>table</th><th>check</th>"
               "<th>column</th><th>result</th><th>observed</th></tr>")  # fmt: skip
    for suite, rs in suites.items():
        for r in rs:
            out.append(
                f"<tr><td>{_e(suite)}</td><td>{_e(r[1])}</td><td>{_e(r[2])}</td><td>{_status(r[3])}</td>"
                f"<td>{_e(r[4])}</td></tr>"
            )
    out.append("</table>")

    out.append("<h2>Recent runs</h2><table><tr><th>checked</th><th>data as of</th><th>checks</th>"
               "<th>failed</th></tr>")  # fmt: skip
    for _, r_at, c_at, checked, failed in runs:
        cls = "bad" if failed else "ok"
        out.append(
            f"<tr><td>{_e(local_label(c_at, tz))}</td><td>{_e(local_label(r_at, tz))}</td><td>{checked}</td>"
            f"<td class='{cls}'>{failed}</td></tr>"
        )
    out.append("</table>")
    out.append(
        "<p class='sub'>Great Expectations' own Data Docs, with every expectation's details, are in "
        "<code>gx/index.html</code> beside this page (they need internet for their styling).</p>"
    )
    out.append("</body></html>")

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join(out), encoding="utf-8")
    tmp.replace(path)
    return path
