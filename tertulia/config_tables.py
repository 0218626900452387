"""Write the parts of community.yml that SQL needs into the warehouse's `config` schema.

dbt reads these as the `community_config` source, so marts follow the configuration without
templating it into SQL. Each area owns one writer function; `sync_config_tables` runs them all.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from tertulia.config import Config


def write_table(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    """Replace config.<name> with `frame` in one statement (readers see old or new, never half)."""
    con.execute("create schema if not exists config")
    con.register("_frame", frame)
    try:
        # `name` is one of our own table names, never user input.
        con.execute(f"create or replace table config.{name} as select * from _frame")  # noqa: S608
    finally:
        con.unregister("_frame")


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
        columns=["platform", "account_id", "handle", "account_name", "owner_member_id"],
    ).astype("object")
    write_table(con, "brand_accounts", frame)


def sync_config_tables(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    from tertulia.business_calendar import write_business_intervals
    from tertulia.engagement_config import write_goals, write_member_levels  # imports write_table from here
    from tertulia.sla_policies import write_sla_policies

    writers = [
        write_brand_accounts,
        write_goals,
        write_member_levels,
        write_business_intervals,
        write_sla_policies,
    ]
    for writer in writers:
        writer(con, config)
