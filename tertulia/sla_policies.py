"""SLA policies from community.yml as tables SQL can match, with their history.

The policy in force when an item arrived applies, even after the configuration changes. So every
distinct list of policies the pipeline has seen is kept as a *version* in
`tertulia.sla_policy_versions` (pipeline state, never rewritten), valid from the run that first saw it
until the run that saw a different list. `config.sla_policies` and `config.sla_policy_conditions` are
rebuilt from that history on every run, so dbt sees all versions:

- `config.sla_policies`: one row per (policy_version, policy): position (first match wins), name,
  target, business-time flag, and the version's validity [valid_from, valid_to).
- `config.sla_policy_conditions`: one row per (policy_version, policy, field, value); a policy matches
  an item when, for every field it names, the item's value is one of the listed values. A policy with
  no condition matches everything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import duckdb
import pandas as pd

from tertulia.config import Config, SlaPolicy
from tertulia.schema import ensure_state, replace_config_table

MATCH_FIELDS = ("platform", "channel", "account_id", "priority", "intent")
# The first version is in force for everything before it: the pipeline has no older policy to apply.
BEGINNING = dt.datetime(1970, 1, 1)
POLICY_COLUMNS = [
    ("policy_version", "integer"),
    ("valid_from", "timestamp"),
    ("valid_to", "timestamp"),
    ("position", "integer"),
    ("policy_name", "varchar"),
    ("target_minutes", "integer"),
    ("is_business_time", "boolean"),
]
CONDITION_COLUMNS = [
    ("policy_version", "integer"),
    ("policy_name", "varchar"),
    ("field", "varchar"),
    ("value", "varchar"),
]


def policies_document(policies: list[SlaPolicy]) -> str:
    """Canonical JSON of the ordered policies: same meaning, same text (key order, defaults)."""
    return json.dumps([p.model_dump(mode="json") for p in policies], sort_keys=True, separators=(",", ":"))


def _close_superseded(con: duckdb.DuckDBPyConnection) -> None:
    """Every version but the newest ends where the next one starts."""
    con.execute(
        "update tertulia.sla_policy_versions as v set valid_to = (select min(n.valid_from) "
        "from tertulia.sla_policy_versions as n where n.policy_version > v.policy_version) "
        "where v.valid_to is null and v.policy_version < (select max(policy_version) from tertulia.sla_policy_versions)"
    )


def record_policy_version(
    con: duckdb.DuckDBPyConnection, config: Config, *, now: dt.datetime | None = None
) -> int:
    """Make the configured policies the current version (new one only if they changed); return its number."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    ensure_state(con, "sla_policy_versions")
    doc = policies_document(config.sla.policies)
    digest = hashlib.sha256(doc.encode()).hexdigest()
    _close_superseded(con)
    current = con.execute(
        "select policy_version, policies_hash, valid_from from tertulia.sla_policy_versions "
        "where valid_to is null order by policy_version desc limit 1"
    ).fetchone()
    if current and current[1] == digest:
        return int(current[0])
    if current and now <= current[2]:
        raise ValueError(
            f"SLA policies changed at {now:%Y-%m-%d %H:%M} but the current version {current[0]} starts later "
            f"({current[2]:%Y-%m-%d %H:%M}); check the clock (or the `now` passed) and run again"
        )
    nxt = con.execute(
        "select coalesce(max(policy_version), 0) + 1 from tertulia.sla_policy_versions"
    ).fetchone()
    version = int(nxt[0]) if nxt else 1
    # No explicit transaction (DuckDB cannot nest one inside a caller's): open the new version first,
    # then close the old one. A crash in between leaves two open versions, which _close_superseded
    # repairs first thing on the next call, before the config tables dbt reads are rewritten.
    con.execute(
        "insert into tertulia.sla_policy_versions values (?, ?, ?, ?, null)",
        [version, digest, doc, BEGINNING if not current else now],
    )
    _close_superseded(con)
    return version


def policy_frames(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All recorded versions as (policies, conditions) frames."""
    policies: list[dict[str, object]] = []
    conditions: list[dict[str, object]] = []
    rows = con.execute(
        "select policy_version, policies_json, valid_from, valid_to from tertulia.sla_policy_versions "
        "order by policy_version"
    ).fetchall()
    for version, doc, valid_from, valid_to in rows:
        for position, raw in enumerate(json.loads(doc), start=1):
            # Recorded versions are history: read as they were, not re-checked against today's lists.
            p = SlaPolicy.model_validate(raw, context={"recorded": True})
            policies.append(
                {
                    "policy_version": version,
                    "valid_from": valid_from,
                    "valid_to": valid_to,
                    "position": position,
                    "policy_name": p.name,
                    "target_minutes": p.target_minutes,
                    "is_business_time": p.business_time,
                }
            )
            for field in MATCH_FIELDS:
                for value in getattr(p.match, field) or []:
                    conditions.append(
                        {
                            "policy_version": version,
                            "policy_name": p.name,
                            "field": field,
                            "value": str(value),
                        }
                    )
    pol = pd.DataFrame(
        policies,
        columns=[
            "policy_version",
            "valid_from",
            "valid_to",
            "position",
            "policy_name",
            "target_minutes",
            "is_business_time",
        ],
    )
    cond = pd.DataFrame(conditions, columns=["policy_version", "policy_name", "field", "value"])
    return pol, cond


def write_sla_policies(
    con: duckdb.DuckDBPyConnection, config: Config, *, now: dt.datetime | None = None
) -> int:
    """Record the configured policies' version and rewrite config.sla_policies / sla_policy_conditions."""
    version = record_policy_version(con, config, now=now)
    pol, cond = policy_frames(con)
    replace_config_table(con, "sla_policies", POLICY_COLUMNS, pol)
    replace_config_table(con, "sla_policy_conditions", CONDITION_COLUMNS, cond)
    return version
