"""Load landing files into ``raw.<source>``, quarantining rows that break hard rules.

Plain DuckDB code with no Dagster import, so it can be tested and benchmarked alone.

How a source is loaded:
1. Discover its files and skip the ones the ledger (``quality.ingest_files``) shows
   as loaded with the same content; a file whose content changed under the same
   name replaces the rows it delivered before.
2. Read the new files with DuckDB's own readers, every column as text, with the
   file name and the record's line (CSV / JSONL) or row index (Parquet).
3. Check every row against the contract's hard rules (required, type, allowed
   values, range). Rows that pass are cast and appended to ``raw.<source>``; rows
   that fail go to ``quality.quarantine_<source>`` with the reason. Lines the
   reader itself cannot parse are quarantined too, with the reader's message.
4. Count each file a second way (see ``files.count_records``) and require
   landed = loaded + quarantined for every file before committing.

Each group of files is loaded in one transaction together with its ledger rows,
so a crash leaves either all of a file or none of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from landing.contract import LOAD_COLUMNS, SOURCES, Column, Source

from . import files as landing_files
from . import rejects
from .errors import LandingFileError, ReconciliationError, RejectedFilesError
from .file_checks import FileProblem, inspect

# (con, source name, relation) -> SQL predicate for rows of erased people, or None (privacy.suppression)
SuppressionFilter = Callable[[duckdb.DuckDBPyConnection, str, str], "str | None"]

# Files are read in groups of about this many bytes, and at most about this many records, so memory
# stays bounded at any scale. Bytes alone do not bound Parquet: its compressed bytes expand about
# 10x as text, so a byte-sized group of Parquet held every order of the 1M-customer benchmark
# (10.5M rows) and spilled. 2M records is what 512 MB of the widest text source holds.
DEFAULT_GROUP_BYTES = 512 * 1024 * 1024
DEFAULT_GROUP_RECORDS = 2_000_000
_UNIT_SEPARATOR = "chr(31)"  # never appears in JSON text, so each line is one field
# What Python's bytes.strip() strips, so a line is blank here exactly when files.count_records skips it.
_LINE_SPACE = "' ' || chr(9) || chr(11) || chr(12) || chr(13)"


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _trim(expr: str) -> str:
    """trim(expr), paid only by values with a space at either end: DuckDB's trim walks the whole
    string, and nearly no landed value has one (trimming each JSONL line cost more than parsing it)."""
    return f"(case when {expr} like ' %' or {expr} like '% ' then trim({expr}) else {expr} end)"


def quarantine_table(source: Source) -> str:
    return f"quality.quarantine_{source.name}"


def raw_table(source: Source) -> str:
    return f"raw.{source.name}"


LEDGER_DDL = """
create table if not exists quality.ingest_files (
    source varchar not null,
    source_file varchar not null,
    file_format varchar not null,
    delivery_date varchar not null,
    file_bytes bigint not null,
    file_sha256 varchar not null,
    batch_id varchar not null,
    status varchar not null,            -- loaded | duplicate_delivery
    rows_landed bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    loaded_at timestamp not null,
    note varchar,
    rows_suppressed bigint not null default 0  -- rows of erased people, dropped (privacy suppression list)
)
"""
LEDGER_COLUMNS = ("source, source_file, file_format, delivery_date, file_bytes, file_sha256, batch_id, status, "
                  "rows_landed, rows_loaded, rows_quarantined, loaded_at, note, rows_suppressed")


def ensure_tables(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    con.execute("create schema if not exists raw")
    con.execute("create schema if not exists quality")
    con.execute(LEDGER_DDL)
    # ledgers written before erasure existed lack the column
    con.execute("alter table quality.ingest_files add column if not exists rows_suppressed bigint default 0")
    con.execute(rejects.DDL)
    typed = ", ".join(f"{_q(c.name)} {c.sql_type}" for c in (*source.columns, *LOAD_COLUMNS))
    con.execute(f"create table if not exists {raw_table(source)} ({typed})")
    text_cols = ", ".join(f"{_q(c.name)} varchar" for c in source.columns)
    con.execute(
        f"""create table if not exists {quarantine_table(source)} (
            {text_cols},
            _reason varchar not null,
            _raw_record varchar,
            _batch_id varchar not null,
            _source_file varchar not null,
            _source_row bigint,
            _quarantined_at timestamp not null
        )"""
    )


@dataclass
class FileOutcome:
    source_file: str
    status: str
    rows_landed: int
    rows_loaded: int
    rows_quarantined: int
    note: str | None = None
    rows_suppressed: int = 0


@dataclass
class SourceLoadResult:
    source: str
    batch_id: str
    files: list[FileOutcome] = field(default_factory=list)
    skipped_unchanged: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    rejected: list[rejects.RejectedFile] = field(default_factory=list)

    @property
    def rows_landed(self) -> int:
        return sum(f.rows_landed for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def rows_suppressed(self) -> int:
        return sum(f.rows_suppressed for f in self.files)


# ---------------------------------------------------------------- reading


def _check_columns(landed: landing_files.LandedFile, source: Source) -> None:
    """Whole-file schema check for formats that carry a header."""
    if landed.file_format == "csv":
        found = [c.strip() for c in landing_files.read_csv_header(landed.path)]
    elif landed.file_format == "parquet":
        found = landing_files.read_parquet_columns(landed.path)
    else:
        return  # JSONL has no header; unknown keys are checked per line
    expected = source.column_names
    missing = [c for c in expected if c not in found]
    unknown = [c for c in found if c not in expected]
    if missing or unknown:
        raise LandingFileError(
            landed.relative_path,
            "schema drift: "
            + (f"missing columns {missing}" if missing else "")
            + ("; " if missing and unknown else "")
            + (f"unknown columns {unknown}" if unknown else ""),
            f"deliver the columns of the '{source.name}' contract (docs/landing_contract.md), "
            "or change landing/contract.py and the dbt sources together",
        )


def _csv_reader_sql(paths: list[str], source: Source, rejects: str) -> str:
    columns = "{" + ", ".join(f"{_lit(c.name)}: 'VARCHAR'" for c in source.columns) + "}"
    return (
        f"read_csv([{', '.join(_lit(p) for p in paths)}], columns={columns}, header=true, "
        "delim=',', quote='\"', escape='\"', auto_detect=false, filename=true, "
        f"store_rejects=true, rejects_table={_lit(rejects)}, rejects_scan={_lit(rejects + '_scan')})"
    )


def _staged_csv(con, source: Source, group) -> tuple[str, list[str]]:
    """CSV rows as text plus their physical line number; reader rejects are staged too."""
    rejects = f"_rejects_{uuid.uuid4().hex[:8]}"
    reader = _csv_reader_sql([str(f.path) for f in group], source, rejects)
    cols = ", ".join(_q(c.name) for c in source.columns)
    # row_number() over () follows scan order, which DuckDB preserves; rejected lines
    # are skipped by the reader, so each good row's line is shifted by the rejects before it.
    # (A blank line inside a CSV is skipped by both counts but shifts later line numbers.)
    con.execute(f"create or replace temp table _good as select row_number() over () as _rn, filename, {cols} from {reader}")
    con.execute(
        f"""create or replace temp table _rej as
            with per_line as (  -- the reader logs one error per bad column; quarantine the line once
                select s.file_path as filename, e.line as line_number,
                       string_agg(distinct e.error_type, ', ') as error_type,
                       string_agg(distinct e.error_message, '; ') as error_message, any_value(e.csv_line) as csv_line
                from {rejects} e join {rejects}_scan s using (scan_id, file_id)
                group by all
            )
            select *, line_number - 1 - row_number() over (partition by filename order by line_number)
                      as good_rows_before
            from per_line"""
    )
    con.execute(f"drop table if exists {rejects}; drop table if exists {rejects}_scan")
    return (
        f"""with numbered as (
                select *, _rn - min(_rn) over (partition by filename) + 1 as _rank from _good
            )
            select n.filename, {', '.join('n.' + _q(c.name) for c in source.columns)},
                   n._rank + 1 + (select count(*) from _rej r where r.filename = n.filename
                                  and r.good_rows_before < n._rank) as _source_row,
                   null::varchar as _structural_error, null::varchar as _raw_record
            from numbered n
            union all
            select filename, {', '.join('null' for _ in source.columns)}, line_number,
                   'unreadable CSV line (' || error_type || '): ' || error_message, csv_line
            from _rej""",
        ["_good", "_rej"],
    )


def _staged_jsonl(con, source: Source, group) -> tuple[str, list[str]]:
    paths = ", ".join(_lit(str(f.path)) for f in group)
    reader = (
        f"read_csv([{paths}], columns={{'json_line': 'VARCHAR'}}, header=false, delim={_UNIT_SEPARATOR}, "
        "quote='', escape='', auto_detect=false, filename=true)"
    )
    expected_keys = "[" + ", ".join(_lit(c.name) for c in source.columns) + "]"
    json_paths = "[" + ", ".join(_lit("$." + c.name) for c in source.columns) + "]"
    extracted = ", ".join(f"_v[{i + 1}] as {_q(c.name)}" for i, c in enumerate(source.columns))
    # The lines are stored first, in scan order, so a line's rowid numbers it. Numbering them with
    # row_number() over () inside the parsing query made all the JSON work behind it single-threaded.
    con.execute(f"create or replace temp table _lines as select filename, json_line from {reader}")
    return (
        f"""with first_lines as (
                select filename, min(rowid) as _first_rowid from _lines group by filename
            ), numbered as (
                select filename, json_line, l.rowid - f._first_rowid + 1 as _source_row,
                       -- JSON functions raise on invalid input, so only valid text goes on to them
                       case when json_valid(json_line) then json_line end as _valid_json
                from _lines l join first_lines f using (filename)
            ), typed as (
                -- valid JSON that starts with a brace is an object; only the rest pays for json_type
                select *, coalesce(_valid_json like '{{%' or json_type(_valid_json) = 'OBJECT', false) as _is_object
                from numbered
            ), parsed as (
                select *,
                       json_extract_string(case when _is_object then _valid_json end, {json_paths}) as _v,
                       list_filter(json_keys(case when _is_object then _valid_json end),
                                   lambda k: not list_contains({expected_keys}, k)) as _unknown
                from typed
                where json_line is not null and (json_line like '{{%' or trim(json_line, {_LINE_SPACE}) <> '')
            )
            select filename, {extracted}, _source_row,
                   case when not _is_object then 'not a JSON object on one line'
                        when len(_unknown) > 0 then 'unknown keys ' || list_aggregate(_unknown, 'string_agg', ', ')
                   end as _structural_error,
                   case when not _is_object or len(_unknown) > 0 then json_line end as _raw_record
            from parsed""",
        ["_lines"],
    )


def _staged_parquet(con, source: Source, group) -> tuple[str, list[str]]:
    paths = ", ".join(_lit(str(f.path)) for f in group)
    cols = ", ".join(f"cast({_q(c.name)} as varchar) as {_q(c.name)}" for c in source.columns)
    return (
        f"""select filename, {cols}, file_row_number + 1 as _source_row,
                   null::varchar as _structural_error, null::varchar as _raw_record
            from read_parquet([{paths}], filename=true, file_row_number=true, union_by_name=true)""",
        [],
    )


# ---------------------------------------------------------------- rules


def _rule_failures(col: Column) -> list[str]:
    """SQL expressions, each a reason string when the rule fails and NULL otherwise."""
    ref = _q(col.name)
    present = f"({ref} is not null and {_trim(ref)} <> '')"
    rules = []
    if col.required:
        rules.append(f"case when not {present} then {_lit('missing required ' + col.name)} end")
    if col.type != "string":
        rules.append(
            f"case when {present} and try_cast({_trim(ref)} as {col.sql_type}) is null "
            f"then {_lit(col.name + ': cannot read ')} || {ref} || {_lit(' as ' + col.type)} end"
        )
    typed = f"try_cast({_trim(ref)} as {col.sql_type})" if col.type != "string" else _trim(ref)
    if col.allowed:
        allowed = ", ".join(_lit(v) for v in col.allowed)
        rules.append(
            f"case when {present} and {typed} not in ({allowed}) "
            f"then {_lit(col.name + ': value ')} || {ref} || {_lit(' is not one of ' + '/'.join(col.allowed))} end"
        )
    if col.min_value is not None:
        rules.append(
            f"case when {typed} < {col.min_value} then {_lit(col.name + ': ')} || {ref} || {_lit(f' is below {col.min_value:g}')} end"
        )
    if col.max_value is not None:
        rules.append(
            f"case when {typed} > {col.max_value} then {_lit(col.name + ': ')} || {ref} || {_lit(f' is above {col.max_value:g}')} end"
        )
    return rules


def _reason_sql(source: Source) -> str:
    rules = [r for col in source.columns for r in _rule_failures(col)]
    return f"coalesce(_structural_error, nullif(concat_ws('; ', {', '.join(rules)}), ''))"


def _typed_value(col: Column) -> str:
    ref = _q(col.name)
    if col.type == "string":
        return f"nullif({ref}, '') as {ref}"
    return f"cast(nullif({_trim(ref)}, '') as {col.sql_type}) as {ref}"


# ---------------------------------------------------------------- loading


def _ledger(con, source: Source) -> dict[str, tuple[str, int]]:
    rows = con.execute(
        "select source_file, file_sha256, file_bytes from quality.ingest_files where source = ? and status = 'loaded'",
        [source.name],
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def _loaded_hashes(con, source: Source) -> dict[str, str]:
    rows = con.execute(
        "select file_sha256, source_file from quality.ingest_files where source = ? and status = 'loaded'",
        [source.name],
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def _known_records(landed: landing_files.LandedFile) -> int:
    """Records known before reading the file: Parquet's footer says; text would need a full read."""
    return landing_files.count_records(landed) if landed.file_format == "parquet" else 0


def _groups(pending: list[landing_files.LandedFile], group_bytes: int, group_records: int):
    """Files of one format each, closed at ``group_bytes`` or at ``group_records`` known records."""
    by_format: dict[str, list[landing_files.LandedFile]] = {}
    for f in pending:
        by_format.setdefault(f.file_format, []).append(f)
    for fmt_files in by_format.values():
        group, size, records = [], 0, 0
        for f in fmt_files:
            group.append(f)
            size += f.size_bytes
            records += _known_records(f)
            if size >= group_bytes or records >= group_records:
                yield group
                group, size, records = [], 0, 0
        if group:
            yield group


def load_source(
    con: duckdb.DuckDBPyConnection,
    source_name: str,
    landing_dir: Path,
    batch_id: str | None = None,
    group_bytes: int = DEFAULT_GROUP_BYTES,
    group_records: int = DEFAULT_GROUP_RECORDS,
    progress=None,
    rejected_dir: Path | None = None,
    delivery_dates: Container[str] | None = None,
    suppress: SuppressionFilter | None = None,
) -> SourceLoadResult:
    """Load the new files of a source; whole-file problems are moved to ``rejected_dir``.

    ``delivery_dates`` limits the load to those delivery folders (a partition or a range of them);
    by default every folder is looked at. Duplicate deliveries are still found across all folders.

    ``rejected_dir`` defaults to ``rejected_files`` beside the landing folder (the
    Settings default). Raises ``RejectedFilesError`` after loading the good files when
    a file was rejected and the source's rule (``rejects.RULES``) is to fail the run.

    ``suppress(con, source_name, relation)`` returns a SQL predicate true for the rows of people
    who were erased (or None): those rows are neither loaded nor quarantined, but counted, so a
    file still reconciles as landed = loaded + quarantined + suppressed.
    """
    source = SOURCES[source_name]
    rejected_dir = rejected_dir or landing_dir.parent / "rejected_files"
    batch_id = batch_id or f"{source.name}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    ensure_tables(con, source)
    result = SourceLoadResult(source.name, batch_id)

    ledger = _ledger(con, source)
    loaded_hashes = _loaded_hashes(con, source)
    pending: list[landing_files.LandedFile] = []
    hashes: dict[str, str] = {}
    replaced: set[str] = set()
    duplicates: list[tuple[landing_files.LandedFile, str, str]] = []
    for landed in landing_files.discover(landing_dir, source.name, delivery_dates):
        known = ledger.get(landed.relative_path)
        if known and known[1] == landed.size_bytes:
            digest = known[0]
            # Same name and size: trust the ledger's hash unless the content really changed.
            if landing_files.sha256_of(landed.path) == digest:
                result.skipped_unchanged += 1
                continue
        digest = landing_files.sha256_of(landed.path)
        if known:
            replaced.add(landed.relative_path)
        elif digest in loaded_hashes or digest in hashes.values():
            original = loaded_hashes.get(digest) or next(k for k, v in hashes.items() if v == digest)
            duplicates.append((landed, digest, original))
            continue
        problem = inspect(landed, source)
        if problem:
            result.rejected.append(rejects.reject(con, source.name, landed, problem, rejected_dir, batch_id, digest))
            continue
        hashes[landed.relative_path] = digest
        pending.append(landed)

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for landed, digest, original in duplicates:
        con.execute(
            f"insert into quality.ingest_files ({LEDGER_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, 'duplicate_delivery', 0, 0, 0, ?, ?, 0)",
            [source.name, landed.relative_path, landed.file_format, landed.delivery_date, landed.size_bytes,
             digest, batch_id, now, f"same content as {original}; not loaded again"],
        )
        result.files.append(FileOutcome(landed.relative_path, "duplicate_delivery", 0, 0, 0, f"same content as {original}"))
        problem = FileProblem("duplicate", f"duplicate delivery: same content as {original}",
                              "nothing to do: the content is already loaded; stop the sender delivering it twice")
        result.rejected.append(rejects.reject(con, source.name, landed, problem, rejected_dir, batch_id, digest))

    for group in _groups(pending, group_bytes, group_records):
        _load_group(con, source, group, hashes, replaced, batch_id, result, suppress)
        if progress:
            progress(source.name, len(result.files), len(pending) + len(duplicates))
    failing = [r for r in result.rejected if r.rule == rejects.FAIL_RUN]
    if failing:
        raise RejectedFilesError(source.name, failing)
    return result


def _load_group(con, source: Source, group, hashes, replaced, batch_id: str, result: SourceLoadResult,
                suppress: SuppressionFilter | None = None) -> None:
    for landed in group:
        _check_columns(landed, source)
    landed_counts = {f.relative_path: landing_files.count_records(f) for f in group}
    group_files = ", ".join(f"({_lit(str(f.path))}, {_lit(f.relative_path)})" for f in group)
    staged = {"csv": _staged_csv, "jsonl": _staged_jsonl, "parquet": _staged_parquet}[group[0].file_format]
    con.execute("begin transaction")
    try:
        # Staging gives the query of the group's rows (and the temp tables it reads); they are checked as
        # they are read instead of being stored and then copied.
        landed_rows, temp_tables = staged(con, source, group)
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        con.execute(
            f"""create or replace temp table _checked as
                select landed.*, {_reason_sql(source)} as _reason, files._rel, false as _suppressed
                from ({landed_rows}) landed join (values {group_files}) files(filename, _rel) using (filename)"""
        )
        for name in temp_tables:
            con.execute(f"drop table {name}")
        suppressed = suppress(con, source.name, "_checked") if suppress else None
        if suppressed:
            con.execute(f"update _checked set _suppressed = true where {suppressed}")
        for rel in sorted(replaced & set(landed_counts)):
            con.execute(f"delete from {raw_table(source)} where _source_file = ?", [rel])
            con.execute(f"delete from {quarantine_table(source)} where _source_file = ?", [rel])
            con.execute("delete from quality.ingest_files where source = ? and source_file = ?", [source.name, rel])
        typed = ", ".join(_typed_value(c) for c in source.columns)
        # Unsorted: raw rows are read by key, never by position, and sorting the group by file and line
        # was about half the cost of writing it.
        con.execute(
            f"""insert into {raw_table(source)}
                select {typed}, ? as _batch_id, _rel as _source_file, _source_row, ? as _loaded_at
                from _checked where _reason is null and not _suppressed""",
            [batch_id, now],
        )
        cols = ", ".join(_q(c.name) for c in source.columns)
        con.execute(
            f"""insert into {quarantine_table(source)}
                select {cols}, _reason, _raw_record, ?, _rel, _source_row, ?
                from _checked where _reason is not null and not _suppressed order by _rel, _source_row""",
            [batch_id, now],
        )
        counts = {
            r[0]: (r[1], r[2], r[3])
            for r in con.execute(
                "select _rel, count(*) filter (where _reason is null and not _suppressed), "
                "count(*) filter (where _reason is not null and not _suppressed), count(*) filter (where _suppressed) "
                "from _checked group by _rel"
            ).fetchall()
        }
        for reason, n in con.execute(
            "select split_part(_reason, ':', 1), count(*) from _checked where _reason is not null and not _suppressed "
            "group by 1"
        ).fetchall():
            result.quarantine_reasons[reason] = result.quarantine_reasons.get(reason, 0) + n
        outcomes = []
        for landed in group:
            rows_landed = landed_counts[landed.relative_path]
            loaded, quarantined, suppressed_rows = counts.get(landed.relative_path, (0, 0, 0))
            if rows_landed != loaded + quarantined + suppressed_rows:
                raise ReconciliationError(landed.relative_path, rows_landed, loaded, quarantined, suppressed_rows)
            con.execute(
                f"insert into quality.ingest_files ({LEDGER_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, 'loaded', ?, ?, ?, ?, ?, ?)",
                [source.name, landed.relative_path, landed.file_format, landed.delivery_date, landed.size_bytes,
                 hashes[landed.relative_path], batch_id, rows_landed, loaded, quarantined, now,
                 "replaced an earlier delivery of this file" if landed.relative_path in replaced else None,
                 suppressed_rows],
            )
            outcomes.append(FileOutcome(landed.relative_path, "loaded", rows_landed, loaded, quarantined,
                                        rows_suppressed=suppressed_rows))
        con.execute("drop table _checked")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    result.files.extend(outcomes)
