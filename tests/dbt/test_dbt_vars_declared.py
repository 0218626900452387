"""Every dbt var has one home: declared once in dbt_project.yml, with community.yml's defaults.

The pipeline passes community.yml's settings with --vars (tertulia.dbt_runner.dbt_vars); the defaults
in dbt_project.yml only serve `dbt parse` and the sqlfluff templater, and must say what community.yml
would. A var() call with its own default would be a third copy of the value that nothing checks.
"""

from __future__ import annotations

import re

import yaml

from tertulia.config import parse_config
from tertulia.dbt_runner import PROJECT_DIR, dbt_vars

VAR_CALL = re.compile(r"""\bvar\(\s*['"](\w+)['"]\s*(,)?""")
# `c.get('min_count', 8)` on a var's dict: a default for one key, another copy of the value.
KEY_DEFAULT = re.compile(r"""\.get\(\s*['"]\w+['"]\s*,""")


def _declared() -> dict[str, object]:
    return yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]


def _sql_files() -> list:
    return [p for p in sorted(PROJECT_DIR.rglob("*.sql")) if "target" not in p.relative_to(PROJECT_DIR).parts]


def _var_calls() -> list[tuple[str, str, bool]]:
    calls = []
    for path in _sql_files():
        for m in VAR_CALL.finditer(path.read_text(encoding="utf-8")):
            calls.append((str(path.relative_to(PROJECT_DIR)), m.group(1), m.group(2) is not None))
    return calls


def test_the_scan_finds_the_var_calls():
    # The regex must see the project's calls, or the two tests below would pass on nothing.
    names = {name for _, name, _ in _var_calls()}
    assert {"crisis", "reload_margin_minutes", "as_of", "trends"} <= names


def test_every_var_is_declared_and_has_no_default_at_the_call():
    declared = _declared()
    undeclared = [(f, n) for f, n, _ in _var_calls() if n not in declared]
    with_default = [(f, n) for f, n, has_default in _var_calls() if has_default]
    assert undeclared == [], "declare these vars in dbt_project.yml `vars:`"
    assert with_default == [], "drop the default: dbt_project.yml `vars:` holds it"
    key_defaults = [
        (str(p.relative_to(PROJECT_DIR)), m.group(0))
        for p in _sql_files()
        for m in KEY_DEFAULT.finditer(p.read_text(encoding="utf-8"))
    ]
    assert key_defaults == [], "read the key (`c.min_count`): dbt_project.yml `vars:` holds its default"


def test_declared_defaults_are_community_yml_defaults():
    # A community.yml with nothing but the required community name: every setting at its default.
    passed = dbt_vars(parse_config({"community": {"name": "t"}}))
    declared = _declared()
    assert set(passed) <= set(declared), "a var the pipeline passes is not declared in dbt_project.yml"
    assert {k: declared[k] for k in passed} == passed
    # The crisis thresholds the SQL used to write as literals are settings now.
    assert passed["crisis"]["negative_share"]["baseline_floor"] == 0.05
    assert passed["crisis"]["min_keyword_ratio"] == 2.0
    assert passed["crisis"]["post_turning_negative"]["min_ratio"] == 2.0
