"""community.yml's goals and member levels as `config.*` tables, so dbt marts read them as data.

`config.goals` holds one row per goal in file order (goal_id is the 1-based position, stable while the
file keeps its order); `config.member_levels` holds the Orbit-style thresholds in one row and
`config.member_activity_weights` one weight per channel.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from tertulia.config import Config
from tertulia.config_tables import write_table

GOAL_COLUMNS = ["goal_id", "goal_name", "metric", "target", "period", "direction", "platform", "account_id"]
LEVEL_COLUMNS = ["love_window_days", "participant_min", "fan_min", "ambassador_min", "churn_risk_days"]


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
    frame = pd.DataFrame(rows, columns=GOAL_COLUMNS)
    # Typed explicitly: an empty goal list must still give dbt the columns it selects.
    frame = frame.astype({"goal_id": "int64", "target": "float64"})
    for col in ("goal_name", "metric", "period", "direction", "platform", "account_id"):
        frame[col] = frame[col].astype("object")
    write_table(con, "goals", frame)
    con.execute(
        "create or replace table config.goals as select cast(goal_id as integer) as goal_id, "
        "cast(goal_name as varchar) as goal_name, cast(metric as varchar) as metric, "
        "cast(target as double) as target, cast(period as varchar) as period, "
        "cast(direction as varchar) as direction, cast(platform as varchar) as platform, "
        "cast(account_id as varchar) as account_id from config.goals"
    )


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
        columns=LEVEL_COLUMNS,
    )
    write_table(con, "member_levels", levels)
    weights = pd.DataFrame(
        [{"channel": ch, "weight": float(w)} for ch, w in sorted(lv.weights.items())],
        columns=["channel", "weight"],
    )
    weights = weights.astype({"channel": "object", "weight": "float64"})
    write_table(con, "member_activity_weights", weights)
    con.execute(
        "create or replace table config.member_activity_weights as "
        "select cast(channel as varchar) as channel, cast(weight as double) as weight "
        "from config.member_activity_weights"
    )
