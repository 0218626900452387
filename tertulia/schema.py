"""The tables the pipeline owns: `config.*` (community.yml for dbt) and the `tertulia.*` state.

One module so a newcomer finds every table Tertulia itself creates in one place, and so every layer
above (connectors, enrichment, quality, alerts, publishing) creates its state the same way.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from tertulia.warehouse import is_postgres


def replace_config_table(
    con: duckdb.DuckDBPyConnection, name: str, columns: list[tuple[str, str]], frame: pd.DataFrame
) -> None:
    """Replace config.<name> with `frame`, columns cast to the given types, in one statement.

    Explicit types because a frame with no rows (or an all-null column) has none DuckDB can use; one
    statement so readers see the old table or the new one, and so a caller's open transaction is fine.
    """
    con.execute("create schema if not exists config")
    select = ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in columns)
    con.register("_typed_frame", frame.astype("object") if frame.empty else frame)
    try:
        # name and columns are the callers' fixed identifiers, never input
        con.execute(f"create or replace table config.{name} as select {select} from _typed_frame")  # noqa: S608
    finally:
        con.unregister("_typed_frame")


# The `tertulia` schema: state the pipeline keeps between runs. Each area creates the tables it uses
# with ensure_state(), so a step run on its own (a watch, a test) finds them; `tertulia.pipeline`'s
# prepare step creates them all. Columns are documented here, where a newcomer looks for them.
STATE_TABLES: dict[str, tuple[str, ...]] = {
    # Rows held back from landing (connectors.landing), with where they came from and why.
    "quarantine": (
        """
create table if not exists tertulia.quarantine (
    entity varchar not null,
    source varchar,
    source_line bigint,
    record_key json,            -- JSON array of the key values, NULL when the key could not be read
    record json,                -- the whole record as delivered (or {"_raw": line} when unreadable)
    rule varchar not null,
    reason varchar not null,
    batch_id varchar not null,
    quarantined_at timestamp not null,
    released_at timestamp       -- set when the key later landed fine or the fixed file was re-imported
)
""",
    ),
    # Each live source's cursor (connectors.runner), so a rerun resumes.
    "connector_state": (
        """
create table if not exists tertulia.connector_state (
    source varchar primary key,
    cursor json,
    updated_at timestamp,
    last_error varchar
)
""",
    ),
    # How far into raw.comments the last complete enrichment run read (the latest `_loaded_at` it saw).
    "enrichment_watermark": (
        """
create table if not exists tertulia.enrichment_watermark (
    id integer primary key,
    loaded_through timestamp,
    updated_at timestamp not null
)
""",
    ),
    # Which tokenisation rules wrote raw.comment_terms (tertulia.terms.TERMS_VERSION).
    "terms_state": (
        """
create table if not exists tertulia.terms_state (
    id integer primary key,
    version varchar not null,
    updated_at timestamp not null
)
""",
    ),
    # The earliest comment date and how far raw.comments was scanned for it (tertulia.business_calendar).
    "calendar_bounds": (
        "create table if not exists tertulia.calendar_bounds "
        "(id integer primary key, earliest_comment_date date, scanned_through timestamp)",
    ),
    # Every version of the SLA policies, with when it applied (tertulia.sla_policies).
    "sla_policy_versions": (
        """
create table if not exists tertulia.sla_policy_versions (
    policy_version integer primary key,
    policies_hash varchar not null,
    policies_json varchar not null,
    valid_from timestamp not null,
    valid_to timestamp
)
""",
    ),
    # What the quality gates found, per run (quality.results), and how far each raw suite has checked.
    "dq_results": (
        """
create table if not exists tertulia.dq_results (
    run_id varchar not null,        -- one id per quality run
    run_at timestamp not null,      -- the run's evaluation instant (UTC; tests and the demo pin it)
    checked_at timestamp not null,  -- wall-clock time the run wrote its results (UTC)
    suite varchar not null,         -- schema.table checked, e.g. marts.fct_sla_events
    expectation varchar not null,   -- what was expected, in words
    "column" varchar,
    success boolean,                -- null: not evaluated (table or column absent, see observed)
    observed varchar,
    details varchar                 -- JSON: GX expectation type, counts, a few example values
)
""",
    ),
    "dq_watermarks": (
        """
create table if not exists tertulia.dq_watermarks (
    suite varchar primary key,
    checked_through timestamp not null, -- newest raw _loaded_at already checked
    updated_at timestamp not null
)
""",
    ),
    # Alerts waiting, sent or held (alerts.outbox); ids from the sequence.
    "alert_outbox": (
        "create sequence if not exists tertulia.alert_outbox_seq",
        """
create table if not exists tertulia.alert_outbox (
    id bigint primary key,
    dedupe_key varchar not null unique,
    kind varchar not null,
    severity varchar not null,
    thread_key varchar,
    digest_group varchar,
    payload json not null,            -- the Alert as JSON; never a token
    batch_id varchar not null,        -- one enqueue call: flood control counts within it
    state varchar not null,
    hold_reason varchar,
    suppressed_reason varchar,
    attempts integer not null default 0,
    last_error varchar,
    idempotency_marker varchar,
    sending_started_epoch double,     -- wall clock of the last send attempt, to bound the look-up
    possible_repeat boolean not null default false,
    created_at timestamp not null,
    updated_at timestamp not null,
    sent_at timestamp,
    channel varchar,
    channel_id varchar,
    message_ts varchar,
    thread_ts varchar,
    delivered_via varchar,            -- bot | webhook | console
    attachment_state varchar,         -- digest chart: pending | uploaded | failed
    attachment_error varchar
)
""",
    ),
    # One row per thread and channel: the first message of a thread_key there, which later alerts reply to.
    "alert_threads": (
        """
create table if not exists tertulia.alert_threads (
    thread_key varchar not null,
    channel varchar not null,
    channel_id varchar not null,
    root_ts varchar not null,
    root_outbox_id bigint not null,
    root_severity varchar not null,
    resolve_requested_at timestamp,
    resolve_note varchar,
    resolved_at timestamp,
    resolve_error varchar,
    reopen_requested_at timestamp,
    reopen_note varchar,
    reopened_at timestamp,
    primary key (thread_key, channel)
)
""",
        # Columns added after the table's first release: a warehouse made before gets them here.
        "alter table tertulia.alert_threads add column if not exists reopen_requested_at timestamp",
        "alter table tertulia.alert_threads add column if not exists reopen_note varchar",
        "alter table tertulia.alert_threads add column if not exists reopened_at timestamp",
    ),
    # Channel names resolved to ids by chat.postMessage, so an interrupted send can be looked up later.
    "slack_channels": (
        """
create table if not exists tertulia.slack_channels (
    channel varchar primary key,
    channel_id varchar not null,
    seen_at timestamp not null
)
""",
    ),
    # Settings the warehouse keeps for itself, such as the generated member-hash secret (tertulia.publish).
    "settings": (
        "create table if not exists tertulia.settings "
        "(key varchar primary key, value varchar not null, updated_at timestamp)",
    ),
}


def ensure_state(con: duckdb.DuckDBPyConnection, *tables: str) -> None:
    """Create the `tertulia` schema and the named state tables (every one when none is named)."""
    if is_postgres(con):
        _ensure_state_on_postgres(con, tables or tuple(STATE_TABLES))
        return
    con.execute("create schema if not exists tertulia")
    for name in tables or STATE_TABLES:
        for statement in STATE_TABLES[name]:
            con.execute(statement)


def _ensure_state_on_postgres(con, tables: tuple[str, ...]) -> None:
    """The state tables on a PostgreSQL warehouse, from the DDL above: a missing table is made in an
    in-memory DuckDB by its `create table`, then created on the server from DuckDB's catalog through
    PG_TYPES (`ensure_pg_table`, as `tertulia migrate` does), so the two warehouses never drift; the
    sequences and the `add column if not exists` of later releases are the same SQL on both.
    Checked once per connection: every enqueue asks for the outbox."""
    done: set[str] = con.ensured_state
    missing = [t for t in tables if t not in done]
    if not missing:
        return
    con.execute("create schema if not exists tertulia")
    scratch = None
    try:
        for name in missing:
            exists = con.execute("select to_regclass(?)", [f"tertulia.{name}"]).fetchone()[0]
            for statement in STATE_TABLES[name]:
                if not statement.lstrip().startswith("create table"):
                    con.execute(statement)  # a sequence, or a column added since the table's release
                elif not exists:
                    scratch = scratch or duckdb.connect()
                    scratch.execute("create schema if not exists tertulia")
                    scratch.execute(statement)
                    with con.raw.cursor() as cur:
                        ensure_pg_table(scratch, cur, "tertulia", name)
            done.add(name)
    finally:
        if scratch is not None:
            scratch.close()


# --- the same tables on a PostgreSQL warehouse ----------------------------------------------------
# DuckDB type -> PostgreSQL type (as PostgreSQL's format_type() spells it, so an existing table's
# columns compare), for the types the raw contract, the config tables and the state tables use.
PG_TYPES = {
    "VARCHAR": "text",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp without time zone",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    # json, not jsonb: json keeps the text as written, and the landing compares JSON as text (a quarantined
    # record already held, a row's extra columns); jsonb would reorder keys and respace it.
    "JSON": "json",
}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def pg_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    if not rows:
        raise LookupError(f"{schema}.{table}: no such table in the DuckDB warehouse")
    out = []
    for column, duck_type in rows:
        if duck_type not in PG_TYPES:
            raise TypeError(
                f"{schema}.{table}.{column}: DuckDB type {duck_type} has no PostgreSQL type in "
                "tertulia/schema.py PG_TYPES; add one"
            )
        out.append((column, PG_TYPES[duck_type]))
    return out


def _primary_key(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    row = con.execute(
        "select constraint_column_names from duckdb_constraints() "
        "where schema_name = ? and table_name = ? and constraint_type = 'PRIMARY KEY'",
        [schema, table],
    ).fetchone()
    return list(row[0]) if row else []


def _existing_columns(cur, schema: str, table: str) -> list[tuple[str, str]]:
    cur.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
        "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped "
        "order by a.attnum",
        [schema, table],
    )
    return [(c, t) for c, t in cur.fetchall()]


def ensure_pg_table(
    duck: duckdb.DuckDBPyConnection, cur, schema: str, table: str, *, key: list[str] | None = None
) -> str:
    """Create `schema.table` on PostgreSQL like the DuckDB table (PG_TYPES, its primary key, or `key`
    when DuckDB has none) unless it exists with the same columns; the quoted name.

    The one place a PostgreSQL table's DDL comes from: the DuckDB DDL (tertulia/schema.py,
    tertulia/raw_schema.py) run first, then read back from DuckDB's catalog, so the two never drift."""
    columns = pg_columns(duck, schema, table)
    target = f"{_quote(schema)}.{_quote(table)}"
    cur.execute(f"create schema if not exists {_quote(schema)}")
    existing = _existing_columns(cur, schema, table)
    if not existing:
        # defaults too (the outbox's `attempts`, `possible_repeat`): DuckDB keeps them as SQL text
        # (`0`, `false`) that PostgreSQL reads alike
        defaults = dict(
            duck.execute(
                "select column_name, column_default from information_schema.columns "
                "where table_schema = ? and table_name = ? and column_default is not null",
                [schema, table],
            ).fetchall()
        )
        defs = [f"{_quote(c)} {t}" + (f" default {defaults[c]}" if c in defaults else "") for c, t in columns]
        primary = _primary_key(duck, schema, table) or key or []
        if primary:
            defs.append(f"primary key ({', '.join(_quote(c) for c in primary)})")
        cur.execute(f"create table {target} ({', '.join(defs)})")
    elif existing != columns:
        raise ValueError(
            f"{schema}.{table}: PostgreSQL has columns {existing}, the DuckDB warehouse "
            f"{columns}; drop the PostgreSQL table (and the dbt views on it) and copy again"
        )
    return target
