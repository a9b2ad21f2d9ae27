"""Erasure requests: the person is deleted from every table of the build warehouse, at once.

Runs after ingest and before dbt, so this run's staging, snapshot, marts, model outputs,
serving file, report and exports are all built without the person. Every pending request is
applied together, in one transaction and one pass over each table (a clickstream of 75M events
is scanned once, not once per request):

* raw rows of every source that identify them (``subjects``), and the same in quarantine,
  including unparseable lines that merely contain one of their identifiers;
* their rows in every built table with a ``customer_key`` (the CRM snapshot, staging and
  intermediate tables, marts, ml), the rows of their orders and the events of their cookies,
  so the incremental facts (which a rebuild would not touch) and a run that fails later hold
  nothing of them either;
* their pseudonym (the key map row), so they can never be joined again;
* the e-mail typed into the request itself.

Their identifiers go on the suppression list (keyed hashes), which ingest applies to every
later delivery, so reloading old landing files does not bring them back. Afterwards, files
derived from the old data are removed: model artifacts (trained on it) and earlier access
exports of the same person. Each step is written to the audit log.

Deleting rather than anonymising orders is deliberate: an order keeps no meaning without its
customer, and revenue for past periods is restated (the audit log keeps the counts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.secret_keys import PseudonymKey

from . import audit, subjects, suppression
from .pseudonyms import MAP_TABLE

ACCESS_EXPORT_SUFFIX = ".json"


@dataclass
class ErasureResult:
    request_id: str
    found: bool
    rows_deleted: int
    entries: list[audit.AuditEntry] = field(default_factory=list)


def _tables(con, schemas: tuple[str, ...]) -> set[str]:
    rows = con.execute(
        "select schema_name || '.' || table_name from duckdb_tables() where database_name = current_database() "
        f"and schema_name in ({', '.join(repr(s) for s in schemas)})").fetchall()
    return {r[0] for r in rows}


def _tables_with_column(con, schemas: tuple[str, ...], column: str) -> list[str]:
    rows = con.execute(
        "select distinct c.schema_name || '.' || c.table_name from duckdb_columns() c "
        "join duckdb_tables() t on t.database_name = c.database_name and t.schema_name = c.schema_name "
        "and t.table_name = c.table_name "
        f"where c.database_name = current_database() and c.schema_name in ({', '.join(repr(s) for s in schemas)}) "
        "and c.column_name = ? order by 1", [column]).fetchall()
    return [r[0] for r in rows]


def _delete_staged_hits(con, table: str, kinds: tuple[tuple[str, str], ...], found: list[list[audit.AuditEntry]],
                        raw_record_patterns: dict[int, str] | None = None, note: str | None = None) -> None:
    """One pass over ``table`` for the whole batch; each deleted row is counted under one request."""
    subjects.staged_rows(con, table, kinds, raw_record_patterns)
    per_request = con.execute("select ord, count(*) from _hits group by ord").fetchall()
    if per_request:
        con.execute(f"delete from {table} where rowid in (select rid from _hits)")
        for ord_, n in per_request:
            found[ord_].append(audit.AuditEntry("deleted", table, n, note))


def erase(con: duckdb.DuckDBPyConnection, key: PseudonymKey,
          batch: list[subjects.Request]) -> list[tuple[ErasureResult, subjects.Subject]]:
    """Delete every requested person everywhere in the warehouse and suppress their identifiers, in one
    transaction and one pass over each table. A row matching several requests (the same person asked
    twice) is counted under the earliest."""
    entries: list[list[audit.AuditEntry]] = [[] for _ in batch]
    con.execute("begin transaction")
    try:
        people = subjects.stage(con, batch)
        existing = _tables(con, ("raw", "quality", "intermediate", "staging"))
        subjects.stage_customer_keys(con, existing)
        patterns = subjects.raw_record_patterns(con)
        for table, kinds, quarantine in subjects.personal_sources(existing):
            _delete_staged_hits(con, table, kinds, entries, patterns if quarantine else None)
        for i, request in enumerate(batch):
            # the request's own copy of the e-mail: the audit log and subject_ref are the record now
            n = con.execute("update raw.privacy_requests set email = null where trim(request_id) = ? and email is not null",
                            [request.request_id]).fetchone()[0]
            if n:
                entries[i].append(audit.AuditEntry("anonymised", "raw.privacy_requests", n, "e-mail of the request removed"))
        # Built tables (staging and intermediate tables too, not only marts and ml): a run that fails
        # after this step must not leave the person in any of them until the next rebuild.
        built = ("marts", "ml", "staging", "intermediate")
        for table in _tables_with_column(con, built, "customer_key"):
            if table != MAP_TABLE:
                _delete_staged_hits(con, table, (("customer_key", "customer_key"),), entries)
        # order lines carry the order id, not the customer key
        for table in _tables_with_column(con, built, "order_id"):
            _delete_staged_hits(con, table, (("order_id", "order_id"),), entries, note="rows of the person's orders")
        for table in _tables_with_column(con, built, "anonymous_id"):
            _delete_staged_hits(con, table, (("anonymous_id", "anonymous_id"),), entries,
                                note="events of cookies only this person used")
        if MAP_TABLE in existing:
            _delete_staged_hits(con, MAP_TABLE, (("customer_id", "customer_id"),), entries, note="pseudonym removed")
        suppression.ensure_table(con)
        for i, request in enumerate(batch):
            for kind in suppression.SUBJECT_TYPES:
                n = suppression.add(con, key, request.request_id, kind, f"select v from _subject_{kind} where ord = {i}")
                if n:
                    entries[i].append(audit.AuditEntry("suppressed", f"{suppression.TABLE}:{kind}", n))
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    results = []
    for request, person, done in zip(batch, people, entries):
        deleted = sum(e.rows_affected for e in done if e.action == "deleted")
        results.append((ErasureResult(request.request_id, person.found, deleted, done), person))
    return results


def remove_derived_files(models_dir: Path, access_dir: Path, access_request_ids: list[str]) -> list[audit.AuditEntry]:
    """Files built from the erased person's data: every model artifact, and their earlier access exports."""
    entries = []
    artifacts = [p for p in models_dir.glob("*") if p.is_file()] if models_dir.exists() else []
    for p in artifacts:
        p.unlink()
    if artifacts:
        entries.append(audit.AuditEntry("file_removed", str(models_dir), len(artifacts),
                                        "model artifacts trained on data that held the person; the next training writes new ones"))
    for request_id in access_request_ids:
        path = access_dir / f"{request_id}{ACCESS_EXPORT_SUFFIX}"
        if path.exists():
            path.unlink()
            entries.append(audit.AuditEntry("file_removed", str(path), 1, "earlier access export of the same person"))
    return entries


def access_requests_of(con: duckdb.DuckDBPyConnection, ref: str) -> list[str]:
    rows = con.execute(f"select distinct request_id from {audit.TABLE} where request_type = 'access' and subject_ref = ?",
                       [ref]).fetchall()
    return [r[0] for r in rows]


def apply_erasures(con: duckdb.DuckDBPyConnection, key: PseudonymKey, run_id: str, models_dir: Path,
                   access_dir: Path) -> list[ErasureResult]:
    """Every erasure request not yet completed, all in one pass (oldest first in the audit log)."""
    audit.ensure_table(con)
    pending = subjects.requests(con, "erasure", audit.completed_request_ids(con, "erasure"))
    if not pending:
        return []
    results = []
    for request, (result, person) in zip(pending, erase(con, key, pending)):
        ref = audit.subject_ref(key, person.customer_ids, request.email)
        entries = list(result.entries)
        entries += remove_derived_files(models_dir, access_dir, access_requests_of(con, ref))
        if not person.found:
            entries.append(audit.AuditEntry("no_data_found", "", 0, "no customer, e-mail hash or handle matched"))
        entries.append(audit.AuditEntry("completed", "", result.rows_deleted,
                                        "serving file, report and exports are rebuilt without the person in this run"))
        audit.record(con, request.request_id, "erasure", ref, request.requested_at, run_id, entries)
        result.entries = entries
        results.append(result)
    return results
