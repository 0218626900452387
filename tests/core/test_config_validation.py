"""community.yml is validated on load: each mistake names its key and says what is expected."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tertulia.config import ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]


def _example() -> dict:
    return yaml.safe_load((REPO / "community.example.yml").read_text(encoding="utf-8"))


def test_the_shipped_example_is_valid_and_resolves_paths_against_its_folder():
    cfg = load_config(REPO / "community.example.yml")
    assert cfg.community.timezone == "America/Guayaquil"
    assert [a.account_id for a in cfg.accounts] == [
        "ig-cafetertulia",
        "fb-cafetertulia",
        "yt-cafetertulia",
        "dsc-cafetertulia",
        "tg-cafetertulia",
        "em-soporte",
    ]
    assert cfg.sla.policies[-1].name == "same_day"
    assert cfg.warehouse_path == REPO / "data" / "warehouse.duckdb"
    assert cfg.channel_for("crisis", "critical") == "#comms-leads"
    assert cfg.channel_for("crisis", "warning") == "#comms"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["community"].update(timzone="UTC"), "community.timzone: unknown key"),
        (lambda d: d["community"].update(timezone="Mars/Olympus"), "community.timezone"),
        (
            lambda d: d["sla"]["policies"][0].update(target_minutes="half an hour"),
            "sla.policies.0.target_minutes",
        ),
        (lambda d: d["sla"]["policies"][0].update(target_minutes=0), "sla.policies.0.target_minutes"),
        (lambda d: d["business_hours"]["weekly"].update(mon=["18:00-09:00"]), "business_hours.weekly"),
        (lambda d: d["business_hours"]["weekly"].update(funday=["09:00-18:00"]), "unknown weekday 'funday'"),
        (
            lambda d: d["business_hours"].update(holidays_country="XX"),
            "holidays has no calendar for country 'XX'",
        ),
        (
            lambda d: d["accounts"].append(dict(d["accounts"][0])),
            "account instagram:ig-cafetertulia is listed twice",
        ),
        (lambda d: d["accounts"][0].update(platform="myspace"), "unknown platform 'myspace'"),
        (lambda d: d["sla"]["policies"][0]["match"].update(channel=["fax"]), "unknown channel 'fax'"),
        (lambda d: d.pop("community"), "community: required key is missing"),
        (lambda d: d["goals"][0].update(metric="happiness"), "goals.0.metric"),
    ],
)
def test_each_mistake_names_its_key(mutate, expected):
    data = _example()
    mutate(data)
    with pytest.raises(ConfigError) as err:
        parse_config(data, source=Path("community.yml"))
    assert expected in str(err.value)
    assert str(err.value).startswith("community.yml:")


def test_duplicate_policy_names_are_refused():
    data = _example()
    data["sla"]["policies"][1]["name"] = data["sla"]["policies"][0]["name"]
    with pytest.raises(ConfigError, match="repeated: complaint_30m"):
        parse_config(data)


def test_missing_and_unreadable_files_say_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="no such file; copy community.example.yml"):
        load_config(tmp_path / "community.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("community: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML") as bad_yaml:
        load_config(bad)
    # The syntax error's position names the file, not PyYAML's "<unicode string>".
    assert f'in "{bad}", line 2' in str(bad_yaml.value)
    assert "<unicode string>" not in str(bad_yaml.value)
    top = tmp_path / "list.yml"
    top.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected a mapping of sections"):
        load_config(top)
