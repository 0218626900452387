"""Every staging, intermediate and mart relation (views included) of two built DuckDB warehouses, row
for row: the check that a change to the models keeps what they hold.

    python bench/compare_relations.py BASE_WAREHOUSE OTHER_WAREHOUSE [--out result.json]

Both warehouses are usually copies of one imported and enriched warehouse, each built by one version
of the code at the same `as_of`, so the landing stamps are the same. A warehouse's views name their
own catalog (the file's stem, `warehouse`), so two of them cannot be attached side by side: each is
opened alone and its relations copied as tables into a snapshot file (schema `snap`, named
`<schema>__<relation>`), and the two snapshots are compared with bench/compare_commits.py's
`compare_marts` (EXCEPT ALL both ways over the common columns, doubles rounded to 9 decimals; a
column in one only is listed under `columns_not_in_both`, not compared).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from compare_commits import compare_marts  # noqa: E402

SCHEMAS = ("staging", "intermediate", "marts")


def snapshot(warehouse: Path, out: Path) -> list[str]:
    """Copy every relation of SCHEMAS into `out` as tables of schema `snap`; returns their names."""
    import duckdb

    con = duckdb.connect()
    # attached under its own stem, the catalog its views name
    con.execute(f"attach '{warehouse}' as \"{warehouse.stem}\" (read_only)")
    con.execute(f'use "{warehouse.stem}"')
    con.execute(f"attach '{out}' as snapfile")
    con.execute("create schema snapfile.snap")
    names = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = ? and table_schema in (select unnest(?::varchar[])) "
        "order by 1, 2",
        [warehouse.stem, list(SCHEMAS)],
    ).fetchall()
    for schema, name in names:
        con.execute(f'create table snapfile.snap."{schema}__{name}" as select * from "{schema}"."{name}"')  # noqa: S608
    con.close()
    return [f"{s}.{n}" for s, n in names]


def compare(base: Path, other: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "base.duckdb", Path(tmp) / "other.duckdb"
        snapshot(base, a)
        snapshot(other, b)
        return compare_marts(a, b, schema="snap")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base", type=Path)
    ap.add_argument("other", type=Path)
    ap.add_argument("--out", type=Path, help="write the report here as JSON")
    args = ap.parse_args()
    report = compare(args.base, args.other)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for name, entry in report["tables"].items():
        extra = f" only in one: {entry['columns_not_in_both']}" if "columns_not_in_both" in entry else ""
        diff = entry["baseline_not_other"] + entry["other_not_baseline"]
        print(f"{name}: rows {entry['rows'][0]} / {entry['rows'][1]}, differ {diff}{extra}")
        for key in ("columns_differ", "types_differ"):
            if key in entry:
                print(f"    {key}: {entry[key]}")
    print(
        f"{len(report['tables'])} relations, {len(report['identical'])} identical, "
        f"different: {report['different']}; only in base {report['only_in_baseline']}, "
        f"only in other {report['only_in_other']}"
    )


if __name__ == "__main__":
    main()
