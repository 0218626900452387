"""Every key of community.yml is checked at load: map keys, source settings, account references.

Each misspelling stops `tertulia status` with one message naming the key path, its line in the file
and the nearest valid key. Aliases that would expand without bound are refused before expanding.
"""

from __future__ import annotations

import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tertulia.cli import app
from tertulia.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]

# Line numbers below are those of this text (line 1 is `community:`).
BASE = """\
community:
  name: Test
  timezone: America/Guayaquil
  languages: [es, en]
accounts:
  - {platform: instagram, account_id: ig-brand}
  - {platform: youtube, account_id: yt-brand}
sla:
  policies:
    - name: ig_1h
      match: {platform: [instagram], account_id: [ig-brand]}
      target_minutes: 60
    - name: rest
      target_minutes: 480
goals:
  - {name: Reach, metric: engagement_rate, target: 0.03, platform: instagram, account_id: ig-brand}
crisis:
  keywords: {es: [estafa], en: [scam]}
slack:
  channels: {crisis: "#comms", sla: "#care"}
  channel_overrides: {"crisis:critical": "#leads"}
  cooldown_minutes: {crisis: 60}
  quiet_hours: {hold_below: warning}
members:
  levels:
    weights: {comment: 1.0, reply: 1.5}
sources:
  yt:
    platform: youtube
    channel_id: UC123
    api_key_env: YT_KEY
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "community.yml"
    path.write_text(text, encoding="utf-8")
    return path


def _with_line(line: int, new: str) -> str:
    lines = BASE.splitlines()
    lines[line - 1] = new
    return "\n".join(lines) + "\n"


def test_the_base_of_these_cases_loads(tmp_path):
    cfg = load_config(_write(tmp_path, BASE))
    assert cfg.slack.channels == {"crisis": "#comms", "sla": "#care"}
    assert cfg.sources["yt"].model_extra == {"channel_id": "UC123", "api_key_env": "YT_KEY"}


# (line, its new text, key path named, what the message suggests)
MISSPELLINGS = {
    "alert kind in slack.channels": (
        20,
        '  channels: {crisiss: "#comms", sla: "#care"}',
        "slack.channels.crisiss",
        "did you mean `crisis`?",
    ),
    "severity in slack.channel_overrides": (
        21,
        '  channel_overrides: {"crisis:critcal": "#leads"}',
        "slack.channel_overrides.crisis:critcal",
        "did you mean `crisis:critical`?",
    ),
    "alert kind in slack.cooldown_minutes": (
        22,
        "  cooldown_minutes: {crises: 60}",
        "slack.cooldown_minutes.crises",
        "did you mean `crisis`?",
    ),
    "severity in quiet_hours.hold_below": (
        23,
        "  quiet_hours: {hold_below: warnig}",
        "slack.quiet_hours.hold_below",
        "did you mean `warning`?",
    ),
    "key of a section": (
        23,
        "  quiet_hours: {hold_belo: warning}",
        "slack.quiet_hours.hold_belo",
        "did you mean `hold_below`?",
    ),
    "member weight": (
        26,
        "    weights: {coment: 1.0, reply: 1.5}",
        "members.levels.weights.coment",
        "did you mean `comment`?",
    ),
    "setting of a source": (
        30,
        "    chanel_id: UC123",
        "sources.yt.chanel_id",
        "did you mean `channel_id`?",
    ),
    "platform of a source": (
        29,
        "    platform: youtbe",
        "sources.yt.platform",
        "did you mean `youtube`?",
    ),
    "account of a source": (
        30,
        "    account: yt-brnd",
        "sources.yt.account",
        "did you mean `yt-brand`?",
    ),
    "platform of a goal": (
        16,
        "  - {name: Reach, metric: engagement_rate, target: 0.03, platform: instagrm, account_id: ig-brand}",
        "goals.0.platform",
        "did you mean `instagram`?",
    ),
    "account of a goal": (
        16,
        "  - {name: Reach, metric: engagement_rate, target: 0.03, platform: instagram, account_id: ig-brnd}",
        "goals.0.account_id",
        "did you mean `ig-brand`?",
    ),
    "account of a goal on another platform": (
        16,
        "  - {name: Reach, metric: engagement_rate, target: 0.03, platform: youtube, account_id: ig-brand}",
        "goals.0.account_id",
        "account 'ig-brand' is on instagram, not on youtube",
    ),
    "platform of an SLA match": (
        11,
        "      match: {platform: [instagrm], account_id: [ig-brand]}",
        "sla.policies.0.match.platform.0",
        "did you mean `instagram`?",
    ),
    "account of an SLA match": (
        11,
        "      match: {platform: [instagram], account_id: [ig-brnd]}",
        "sla.policies.0.match.account_id.0",
        "did you mean `ig-brand`?",
    ),
    "community language": (
        4,
        "  languages: [es, en, eng]",
        "community.languages.2",
        "did you mean `en`?",
    ),
    "language of crisis keywords": (
        18,
        "  keywords: {es: [estafa], enn: [scam]}",
        "crisis.keywords.enn",
        "did you mean `en`?",
    ),
    "timezone localtime": (
        3,
        "  timezone: localtime",
        "community.timezone",
        "such as 'America/Guayaquil'",
    ),
    "misspelt timezone": (
        3,
        "  timezone: America/Guayaqil",
        "community.timezone",
        "did you mean `America/Guayaquil`?",
    ),
}


@pytest.mark.parametrize(("line", "new", "key", "suggestion"), MISSPELLINGS.values(), ids=MISSPELLINGS.keys())
def test_each_misspelling_stops_tertulia_status_naming_key_line_and_nearest(
    tmp_path, line, new, key, suggestion
):
    path = _write(tmp_path, _with_line(line, new))
    result = CliRunner().invoke(app, ["status", "--config", str(path)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an exception escaping
    assert "Traceback" not in result.output
    assert result.output.startswith(f"{path}: 1 problem in the configuration:")
    (problem,) = [ln for ln in result.output.splitlines() if ln.startswith("  - ")]
    assert problem.startswith(f"  - line {line}: {key}: ")
    assert suggestion in problem


def test_a_credential_written_in_the_file_is_refused_without_echoing_it(tmp_path):
    path = _write(tmp_path, _with_line(31, "    api_key: AIzaFAKE-not-a-real-key"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "line 31: sources.yt.api_key: a credential is never written in community.yml" in message
    assert "`api_key_env:`" in message and "AIzaFAKE" not in message
    # A secret pasted where the variable's name goes is caught too, and not shown either.
    path = _write(tmp_path, _with_line(31, "    api_key_env: AIza FAKE/secret"))
    with pytest.raises(
        ConfigError, match="line 31: sources.yt.api_key_env: is not an environment variable name"
    ) as err:
        load_config(path)
    assert "FAKE" not in str(err.value)


def test_every_problem_of_a_section_is_listed_with_its_line(tmp_path):
    text = _with_line(20, '  channels: {crisiss: "#comms", sla: "#care", digst: "#all"}')
    text = text.replace(
        "    - name: rest\n      target_minutes: 480", "    - name: rest\n      target_minutes: soon"
    )
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, text))
    lines = str(err.value).splitlines()
    assert lines[0].endswith("3 problems in the configuration:")
    assert lines[1].startswith("  - line 14: sla.policies.1.target_minutes: ")
    assert lines[2].startswith(
        "  - line 20: slack.channels.crisiss: unknown alert kind 'crisiss'; did you mean"
    )
    assert lines[3].startswith(
        "  - line 20: slack.channels.digst: unknown alert kind 'digst'; did you mean `digest`?"
    )


def test_a_key_written_twice_is_refused(tmp_path):
    text = BASE + "slack:\n  channels: {sla: '#other'}\n"
    with pytest.raises(ConfigError, match=r"line 32: slack: written twice \(lines 19 and 32\)"):
        load_config(_write(tmp_path, text))


def test_small_aliases_and_merges_still_load(tmp_path):
    text = BASE + "  yt2:\n    <<: &shared {platform: youtube, api_key_env: YT_KEY}\n    channel_id: UC456\n"
    text = text.replace("  yt:\n", "  yt: &first\n")
    cfg = load_config(_write(tmp_path, text))
    assert cfg.sources["yt2"].platform == "youtube"
    assert cfg.sources["yt2"].model_extra == {"api_key_env": "YT_KEY", "channel_id": "UC456"}
    # A key merged from an anchor is still checked, at the line where it is written.
    bad = text.replace("api_key_env: YT_KEY}", "api_key_evn: YT_KEY}")
    with pytest.raises(
        ConfigError, match=r"line 33: sources.yt2.api_key_evn: unknown youtube source setting"
    ):
        load_config(_write(tmp_path, bad))


def _bomb(levels: int = 9) -> str:
    """Billion laughs: each level lists the previous one nine times, 9^9 (387 million) strings in all."""
    out = ['    l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        out.append(f"    l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]")
    return "\n".join(out) + "\n"


def _limit_memory() -> None:
    # If the guard ever broke, the child dies of MemoryError instead of taking the machine's memory.
    two_gib = 2 * 1024**3
    resource.setrlimit(resource.RLIMIT_AS, (two_gib, two_gib))


@pytest.mark.parametrize(
    ("where", "text"),
    [
        ("sources.<name>", BASE + "  yt2:\n    platform: youtube\n" + _bomb()),
        ("anywhere", "community: {name: x}\nx-bomb:\n" + _bomb()),
    ],
)
def test_an_alias_bomb_is_refused_before_it_expands(tmp_path, where, text):
    path = _write(tmp_path, text)
    proc = subprocess.run(
        [sys.executable, "-c", "from tertulia.cli import app; app()", "status", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=300,  # a bound on a broken guard, not a measurement: a refusal returns at once
        preexec_fn=_limit_memory,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    message = proc.stderr.strip()
    assert message.startswith(f"{path}: not read: it expands to ")
    assert re.search(
        r"more than the 100,000 a configuration may hold; the largest alias is \*l7 on line \d+", message
    )


def test_an_alias_that_contains_itself_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="line 2: an alias refers to the value that contains it"):
        load_config(_write(tmp_path, "community: {name: x}\nsources: &s {loop: *s}\n"))


def test_the_sources_in_docs_connectors_load():
    """docs/connectors.md's example uses only keys its connectors declare, so it stays true."""
    doc = (REPO / "docs" / "connectors.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(accounts:.*?)```", doc, re.S)
    assert block is not None
    import yaml

    from tertulia.config import parse_config

    cfg = parse_config({"community": {"name": "x"}, **yaml.safe_load(block.group(1))})
    assert sorted(cfg.sources) == [
        "facebook_page",
        "forum",
        "instagram",
        "mastodon",
        "reddit",
        "youtube_main",
    ]


def test_each_live_connector_declares_what_it_reads():
    from connectors.sources import PLATFORM_CONNECTORS, connector_class

    for platform in PLATFORM_CONNECTORS:
        cls = connector_class(platform)
        assert cls.platform == platform
        assert cls.credentials, f"{platform} declares no credential"
        keys = cls.setting_keys()
        assert {"account", "start_date", "initial_days"} <= keys
        assert {f"{c}_env" for c in cls.credentials} <= keys
        assert not set(cls.credentials) & keys  # the credential itself is never a setting


def test_a_policy_version_recorded_before_the_platform_check_is_still_read():
    """tertulia.sla_policy_versions keeps every policy list seen; one stored with a platform today's
    check refuses must not stop every later run."""
    import datetime as dt

    import duckdb

    from tertulia.config import parse_config
    from tertulia.schema import ensure_state
    from tertulia.sla_policies import policy_frames

    con = duckdb.connect()
    con.execute("create schema tertulia")
    ensure_state(con, "sla_policy_versions")
    old = '[{"business_time":true,"match":{"platform":["instagrm"]},"name":"ig","target_minutes":60}]'
    con.execute(
        "insert into tertulia.sla_policy_versions values (1, 'h', ?, ?, null)", [old, dt.datetime(2026, 1, 1)]
    )
    _, conditions = policy_frames(con)
    assert conditions[["field", "value"]].values.tolist() == [["platform", "instagrm"]]
    with pytest.raises(ConfigError, match="sla.policies.0.match.platform.0: unknown platform 'instagrm'"):
        parse_config(
            {
                "community": {"name": "x"},
                "sla": {
                    "policies": [{"name": "ig", "target_minutes": 60, "match": {"platform": ["instagrm"]}}]
                },
            }
        )
