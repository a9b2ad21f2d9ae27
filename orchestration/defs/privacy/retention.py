"""Retention of raw event data: clickstream and campaign touches older than the retention period go.

Behavioural events are kept for analysis for a limited time (the default, two years, covers
year-on-year comparisons); orders, tickets and surveys are business records with their own
(longer) legal retention and are not touched here. Deleted rows are counted per table in
``quality.retention_log`` and in the audit log, so "landed = loaded + quarantined" still
reconciles: the ledger keeps what was loaded, the log what was deleted since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from landing.contract import SOURCES

LOG_TABLE = "quality.retention_log"
# source -> the event-time column the age is measured on
RETAINED_EVENT_SOURCES = {"web_events": "occurred_at", "campaign_events": "occurred_at"}


@dataclass(frozen=True)
class RetentionResult:
    table: str
    cutoff: date
    rows_deleted: int


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists quality")
    con.execute(f"""create table if not exists {LOG_TABLE} (
        run_id varchar not null,
        table_name varchar not null,
        cutoff_date date not null,
        rows_deleted bigint not null,
        applied_at timestamp not null
    )""")


def apply_retention(con: duckdb.DuckDBPyConnection, retention_days: int, today: date, run_id: str) -> list[RetentionResult]:
    """Delete raw (and quarantined) event rows whose event time is before ``today - retention_days``."""
    if retention_days < 1:
        raise ValueError(f"retention must be at least one day, got {retention_days}")
    cutoff = today - timedelta(days=retention_days)
    ensure_table(con)
    results = []
    con.execute("begin transaction")
    try:
        for source, column in RETAINED_EVENT_SOURCES.items():
            assert column in SOURCES[source].column_names
            for table, age in ((f"raw.{source}", column),
                               # quarantine keeps text: rows whose time cannot be read age by when they were quarantined
                               (f"quality.quarantine_{source}",
                                f"coalesce(try_cast(trim({column}) as timestamp), _quarantined_at)")):
                exists = con.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                                     "and schema_name || '.' || table_name = ?", [table]).fetchone()[0]
                if not exists:
                    continue
                n = con.execute(f"delete from {table} where {age} < ?", [cutoff]).fetchone()[0]
                con.execute(f"insert into {LOG_TABLE} values (?, ?, ?, ?, now())", [run_id, table, cutoff, n])
                results.append(RetentionResult(table, cutoff, n))
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return results
