"""Every module of tertulia/ sits in a layer of `.importlinter`, so `make lint` checks its imports.

The layers contract names tertulia's modules one by one (the folder holds the core at the bottom and
the entry points at the top); a module missing from it would be checked by nothing.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _contract() -> configparser.SectionProxy:
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter")
    return parser["importlinter:contract:layers"]


def _layer_modules() -> list[str]:
    names: list[str] = []
    for line in _contract()["layers"].splitlines():
        names += [n.strip() for n in re.split(r"[|:]", line) if n.strip()]
    return names


def test_every_tertulia_module_has_a_layer():
    modules = {f"tertulia.{p.stem}" for p in (ROOT / "tertulia").glob("*.py") if p.stem != "__init__"}
    listed = set(_layer_modules())
    assert modules - listed == set(), "add these modules to a layer in .importlinter"
    assert {m for m in listed if m.startswith("tertulia.")} - modules == set(), "layers name no module"


def test_every_package_has_a_layer():
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter")
    roots = set(parser["importlinter"]["root_packages"].split())
    listed = {m.split(".")[0] for m in _layer_modules()}
    assert roots == listed
    # each package besides tertulia is one layer whole: none is split across two
    assert {"connectors", "enrichment", "quality", "alerts", "flows"} <= set(_layer_modules())
