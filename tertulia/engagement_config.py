"""community.yml's goals and member levels as `config.*` tables, so dbt marts read them as data.

`config.goals` holds one row per goal in file order (goal_id is the 1-based position, stable while the
file keeps its order); `config.member_levels` holds the Orbit-style thresholds in one row and
`config.member_activity_weights` one weight per channel.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from tertulia.config import Config
from tertulia.schema import replace_config_table

# Typed explicitly: an empty goal list must still give dbt the columns it selects.
GOAL_COLUMNS = [
    ("goal_id", "integer"),
    ("goal_name", "varchar"),
    ("metric", "varchar"),
    ("target", "double"),
    ("period", "varchar"),
    ("direction", "varchar"),
    ("platform", "varchar"),
    ("account_id", "varchar"),
]
LEVEL_COLUMNS = [
    ("love_window_days", "bigint"),
    ("participant_min", "double"),
    ("fan_min", "double"),
    ("ambassador_min", "double"),
    ("churn_risk_days", "bigint"),
]
WEIGHT_COLUMNS = [("channel", "varchar"), ("weight", "double")]


def write_goals(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    rows = [
        {
            "goal_id": i,
            "goal_name": g.name,
            "metric": g.metric,
            "target": float(g.target),
            "period": g.period,
            "direction": g.direction,
            "platform": g.platform,
            "account_id": g.account_id,
        }
        for i, g in enumerate(config.goals, start=1)
    ]
    frame = pd.DataFrame(rows, columns=[c for c, _ in GOAL_COLUMNS])
    replace_config_table(con, "goals", GOAL_COLUMNS, frame)


def write_member_levels(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    lv = config.members.levels
    levels = pd.DataFrame(
        [
            {
                "love_window_days": lv.love_window_days,
                "participant_min": float(lv.participant_min),
                "fan_min": float(lv.fan_min),
                "ambassador_min": float(lv.ambassador_min),
                "churn_risk_days": lv.churn_risk_days,
            }
        ],
        columns=[c for c, _ in LEVEL_COLUMNS],
    )
    replace_config_table(con, "member_levels", LEVEL_COLUMNS, levels)
    weights = pd.DataFrame(
        [{"channel": ch, "weight": float(w)} for ch, w in sorted(lv.weights.items())],
        columns=[c for c, _ in WEIGHT_COLUMNS],
    )
    replace_config_table(con, "member_activity_weights", WEIGHT_COLUMNS, weights)
