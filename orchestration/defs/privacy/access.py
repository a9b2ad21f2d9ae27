"""Access requests: one machine-readable file with everything the warehouse holds about a person.

Written after the marts and models are built, so it covers every layer: raw rows from every
source (and quarantined ones), the restricted CRM profile, and every row of every ``marts``
and ``ml`` table under their pseudonymous key, plus their consent history. The file goes to
``$DATA_DIR/privacy/access/<request_id>.json`` (mode 0600): it is personal data, for the
privacy desk to hand to the requester, and is deleted if the person later asks for erasure.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import duckdb

from orchestration.secret_keys import PseudonymKey

from . import audit, subjects
from .erasure import ACCESS_EXPORT_SUFFIX, _tables, _tables_with_column
from .pseudonyms import MAP_TABLE

FORMAT_VERSION = 1


@dataclass
class AccessResult:
    request_id: str
    path: Path | None
    rows: int
    found: bool


def _jsonable(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def _rows(con, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [{n: _jsonable(v) for n, v in zip(names, row)} for row in cursor.fetchall()]


def collect(con: duckdb.DuckDBPyConnection, request: subjects.Request) -> tuple[dict[str, list[dict]], subjects.Subject]:
    """Every row about the request's person, by table (tables with no rows are left out)."""
    person = subjects.stage(con, [request])[0]
    existing = _tables(con, ("raw", "quality", "staging"))
    held: dict[str, list[dict]] = {}
    patterns = subjects.raw_record_patterns(con)
    for table, kinds, quarantine in subjects.personal_sources(existing):
        subjects.staged_rows(con, table, kinds, patterns if quarantine else None)
        rows = _rows(con, f"select * from {table} where rowid in (select rid from _hits)")
        if rows:
            held[table] = rows
    if MAP_TABLE in existing:
        subjects.stage_customer_keys(con, existing)
        held["staging.stg_crm__customers"] = _rows(
            con, "select * exclude (_batch_id, _loaded_at) from staging.stg_crm__customers "
                 "where customer_id in (select v from _subject_customer_id)")
        for table in _tables_with_column(con, ("marts", "ml"), "customer_key"):
            rows = _rows(con, f"select * from {table} where customer_key in (select v from _subject_customer_key)")
            if rows:
                held[table] = rows
    return {k: v for k, v in held.items() if v}, person


def write_access_export(con, key: PseudonymKey, request: subjects.Request, out_dir: Path, run_id: str) -> AccessResult:
    held, person = collect(con, request)
    ref = audit.subject_ref(key, person.customer_ids, request.email)
    rows = sum(len(v) for v in held.values())
    out_dir.mkdir(parents=True, exist_ok=True)
    out_dir.chmod(0o700)
    path = out_dir / f"{request.request_id}{ACCESS_EXPORT_SUFFIX}"
    document = {
        "format_version": FORMAT_VERSION,
        "request_id": request.request_id,
        "requested_at": _jsonable(request.requested_at),
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run_id": run_id,
        "subject": {"customer_ids": person.customer_ids, "emails": person.emails,
                    "identifiers_found": person.counts},
        "explanation": ("Every row this warehouse holds about you, by table: raw.* are the records as received from "
                        "each system, quality.quarantine_* records we could not accept, staging.stg_crm__customers "
                        "your current profile, marts.* and ml.* what we derived (your pseudonymous customer_key, "
                        "segments, scores, consent history)."),
        "tables": held,
    }
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(document, fh, ensure_ascii=False, indent=1)
    tmp.replace(path)
    entries = [audit.AuditEntry("file_written", str(path), rows, f"{len(held)} table(s)")]
    if not person.found:
        entries.append(audit.AuditEntry("no_data_found", "", 0, "no customer, e-mail hash or handle matched"))
    entries.append(audit.AuditEntry("completed", "", rows))
    audit.record(con, request.request_id, "access", ref, request.requested_at, run_id, entries)
    return AccessResult(request.request_id, path, rows, person.found)


def answer_access_requests(con: duckdb.DuckDBPyConnection, key: PseudonymKey, out_dir: Path,
                           run_id: str) -> list[AccessResult]:
    audit.ensure_table(con)
    pending = subjects.requests(con, "access", audit.completed_request_ids(con, "access"))
    return [write_access_export(con, key, r, out_dir, run_id) for r in pending]
