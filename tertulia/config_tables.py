"""Write the parts of community.yml that SQL needs into the warehouse's `config` schema.

dbt reads these as the `community_config` source, so marts follow the configuration without
templating it into SQL. Each area owns one writer function; `sync_config_tables` runs them all.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from tertulia.business_calendar import write_business_intervals
from tertulia.config import Config
from tertulia.engagement_config import write_goals, write_member_levels
from tertulia.schema import replace_config_table
from tertulia.sla_policies import write_sla_policies

BRAND_ACCOUNT_COLUMNS = [
    ("platform", "varchar"),
    ("account_id", "varchar"),
    ("handle", "varchar"),
    ("account_name", "varchar"),
    ("owner_member_id", "varchar"),
]


def write_brand_accounts(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    frame = pd.DataFrame(
        [
            {
                "platform": a.platform,
                "account_id": a.account_id,
                "handle": a.handle,
                "account_name": a.name,
                "owner_member_id": a.owner,
            }
            for a in config.accounts
        ],
        columns=[c for c, _ in BRAND_ACCOUNT_COLUMNS],
    )
    replace_config_table(con, "brand_accounts", BRAND_ACCOUNT_COLUMNS, frame)


def sync_config_tables(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    writers = [
        write_brand_accounts,
        write_goals,
        write_member_levels,
        write_business_intervals,
        write_sla_policies,
    ]
    for writer in writers:
        writer(con, config)
