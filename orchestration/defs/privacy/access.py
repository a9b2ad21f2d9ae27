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


REQUEST_COLUMN = "_access_request_ord"  # which request of the batch a fetched row is for


def _rows_by_request(con, sql: str, table: str, held: list[dict[str, list[dict]]]) -> None:
    """Run ``sql`` (its first column is ``REQUEST_COLUMN``) and file each row under its request and ``table``."""
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description][1:]
    while chunk := cursor.fetchmany(10_000):
        for ord_, *values in chunk:
            held[ord_].setdefault(table, []).append({n: _jsonable(v) for n, v in zip(names, values)})


def collect(con: duckdb.DuckDBPyConnection,
            batch: list[subjects.Request]) -> list[tuple[dict[str, list[dict]], subjects.Subject]]:
    """Every row about each request's person, by table (tables with no rows are left out).

    The whole batch is answered in one pass over each table, like erasures; a row about a person
    who asked twice goes into both of their exports."""
    people = subjects.stage(con, batch)
    existing = _tables(con, ("raw", "quality", "staging"))
    held: list[dict[str, list[dict]]] = [{} for _ in batch]
    patterns = subjects.raw_record_patterns(con)
    for table, kinds, quarantine in subjects.personal_sources(existing):
        subjects.staged_rows(con, table, kinds, patterns if quarantine else None, every_request=True)
        _rows_by_request(con, f"select h.ord as {REQUEST_COLUMN}, t.* from {table} t "
                              "join _hits h on t.rowid = h.rid order by h.ord, h.rid", table, held)
    if MAP_TABLE in existing:
        subjects.stage_customer_keys(con, existing)
        _rows_by_request(con, f"select s.ord as {REQUEST_COLUMN}, t.* exclude (_batch_id, _loaded_at) "
                              "from staging.stg_crm__customers t join _subject_customer_id s on t.customer_id = s.v "
                              "order by s.ord, t.customer_id", "staging.stg_crm__customers", held)
        for table in _tables_with_column(con, ("marts", "ml"), "customer_key"):
            _rows_by_request(con, f"select s.ord as {REQUEST_COLUMN}, t.* from {table} t "
                                  "join _subject_customer_key s on t.customer_key = s.v order by s.ord, t.rowid",
                             table, held)
    return list(zip(held, people))


def write_access_export(con, key: PseudonymKey, request: subjects.Request, held: dict[str, list[dict]],
                        person: subjects.Subject, out_dir: Path, run_id: str) -> AccessResult:
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
    # A customer id named in the request counts as an identifier even if no table holds it: what
    # answers an access request is whether any row was found.
    if not held:
        entries.append(audit.AuditEntry("no_data_found", "", 0, "no row of any table matched the person's identifiers"))
    entries.append(audit.AuditEntry("completed", "", rows))
    audit.record(con, request.request_id, "access", ref, request.requested_at, run_id, entries)
    return AccessResult(request.request_id, path, rows, bool(held))


def answer_access_requests(con: duckdb.DuckDBPyConnection, key: PseudonymKey, out_dir: Path,
                           run_id: str) -> list[AccessResult]:
    audit.ensure_table(con)
    pending = subjects.requests(con, "access", audit.completed_request_ids(con, "access"))
    if not pending:
        return []
    return [write_access_export(con, key, request, held, person, out_dir, run_id)
            for request, (held, person) in zip(pending, collect(con, pending))]
