"""The privacy audit log: every data-subject request, what was done about it, where and when.

One row per action (rows deleted from a table, a file removed or written, the request
completed). The subject is recorded as a keyed hash, never as an id or e-mail, so the log
itself can be kept for as long as the law asks without holding the erased person's data.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from orchestration.secret_keys import PseudonymKey

TABLE = "quality.privacy_audit"

DDL = f"""
create table if not exists {TABLE} (
    request_id varchar not null,
    request_type varchar not null,          -- erasure | access | retention
    subject_ref varchar,                    -- HMAC of the subject; null for retention
    received_at timestamp,
    processed_at timestamp not null,
    run_id varchar not null,
    action varchar not null,                -- deleted | anonymised | suppressed | file_removed | file_written | completed | no_data_found
    target varchar not null,                -- table, file or folder acted on ('' for completed)
    rows_affected bigint not null,
    note varchar
)
"""


@dataclass(frozen=True)
class AuditEntry:
    action: str
    target: str
    rows_affected: int
    note: str | None = None


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists quality")
    con.execute(DDL)


def subject_ref(key: PseudonymKey, customer_ids: list[str], email: str | None) -> str:
    """Stable reference to the person: the same for an erasure and an earlier access request."""
    if customer_ids:
        return key.hex("subject:customer_id:" + min(customer_ids))[:32]
    return key.hex("subject:email:" + (email or ""))[:32]


def record(con, request_id: str, request_type: str, ref: str | None, received_at, run_id: str,
           entries: list[AuditEntry]) -> None:
    for e in entries:
        con.execute(f"insert into {TABLE} values (?, ?, ?, ?, now(), ?, ?, ?, ?, ?)",
                    [request_id, request_type, ref, received_at, run_id, e.action, e.target, e.rows_affected, e.note])


def completed_request_ids(con: duckdb.DuckDBPyConnection, request_type: str) -> set[str]:
    ensure_table(con)
    rows = con.execute(f"select distinct request_id from {TABLE} where request_type = ? and action = 'completed'",
                       [request_type]).fetchall()
    return {r[0] for r in rows}
