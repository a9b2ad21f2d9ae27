"""Whole-file problems found before any row is read: each names the file and the fix.

One streaming pass over the bytes (bounded memory whatever the size) looks for
invalid UTF-8, an unterminated quote and a cut-off last line; the header and the
Parquet footer are checked on their own. A file with one of these problems cannot
be loaded row by row in a meaningful way, so it is moved aside as a whole.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass

import pyarrow.parquet as pq

from landing.contract import Source

from .files import LandedFile

_CHUNK = 1 << 20
_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}
_PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class FileProblem:
    kind: str  # empty | encoding | delimiter | schema_drift | truncated | duplicate
    problem: str
    fix: str


@dataclass
class _Scan:
    size: int = 0
    quotes: int = 0
    last_line: bytes = b""
    ends_with_newline: bool = True
    bad_utf8_line: int | None = None
    bad_utf8_offset: int | None = None
    bad_bytes: bytes = b""


def _scan(path, count_quotes: bool) -> _Scan:
    """The file's size, last line and line end, first invalid UTF-8 byte, and (CSV) its quote characters.

    Costs about what reading the file does: a chunk of ASCII (almost every chunk) needs no decoding,
    and the line of an invalid byte is counted only when there is one.
    """
    scan = _Scan()
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            # ASCII is valid UTF-8, unless a character begun in the previous chunk is still open
            open_character = decoder.getstate()[0]
            if scan.bad_utf8_offset is None and not (chunk.isascii() and not open_character):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as err:  # err.start counts from the open character's first byte
                    scan.bad_utf8_offset = scan.size - len(open_character) + err.start
                    scan.bad_bytes = (open_character + chunk)[err.start:err.start + 4]
            if count_quotes:
                scan.quotes += chunk.count(b'"')
            scan.size += len(chunk)
            last_end = chunk.rfind(b"\n")
            scan.last_line = chunk[last_end + 1:] if last_end >= 0 else (scan.last_line + chunk)[-_CHUNK:]
            scan.ends_with_newline = chunk.endswith(b"\n") or chunk.endswith(b"\r")
    if scan.bad_utf8_offset is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            open_character = decoder.getstate()[0]
            scan.bad_utf8_offset, scan.bad_bytes = scan.size - len(open_character), open_character
    if scan.bad_utf8_offset is not None:
        scan.bad_utf8_line = _line_of(path, scan.bad_utf8_offset)
    return scan


def _line_of(path, offset: int) -> int:
    """The 1-based line the byte at ``offset`` is on."""
    lines_before, read = 0, 0
    with path.open("rb") as fh:
        while read < offset and (chunk := fh.read(min(_CHUNK, offset - read))):
            lines_before += chunk.count(b"\n")
            read += len(chunk)
    return lines_before + 1


def _encoding_problem(landed: LandedFile, scan: _Scan) -> FileProblem:
    guess = "GBK/GB18030 (a Chinese Windows export)" if _decodes_as_gb18030(landed) else "not UTF-8"
    return FileProblem(
        "encoding",
        f"invalid UTF-8 at line {scan.bad_utf8_line} (byte {scan.bad_utf8_offset}: {scan.bad_bytes.hex(' ')}); "
        f"the file looks {guess}",
        "re-export the file as UTF-8 (e.g. `iconv -f GB18030 -t UTF-8 in.csv > out.csv`) and deliver it again",
    )


def _decodes_as_gb18030(landed: LandedFile) -> bool:
    with landed.path.open("rb") as fh:
        head = fh.read(_CHUNK)
    try:
        head.decode("gb18030")
        return True
    except UnicodeDecodeError:
        return False


def _header_problem(landed: LandedFile, source: Source, header: list[str]) -> FileProblem | None:
    expected = source.column_names
    if len(header) == 1:
        for delim, name in _OTHER_DELIMITERS.items():
            if delim in header[0] and set(header[0].split(delim)) & set(expected):
                return FileProblem(
                    "delimiter", f"the header is separated by {name}s ({delim!r}), not commas",
                    "re-export with ',' as the delimiter (the landing contract's CSV dialect) and deliver it again")
    found = [c.strip() for c in header]
    missing = [c for c in expected if c not in found]
    unknown = [c for c in found if c not in expected]
    if not (missing or unknown):
        return None
    problem = "schema drift: " + "; ".join(
        part for part in (f"missing columns {missing}" if missing else "",
                          f"unknown columns {unknown}" if unknown else "") if part)
    if missing and unknown and len(missing) == len(unknown):
        problem += " (looks like a rename: " + ", ".join(f"{u} -> {m}" for u, m in zip(unknown, missing)) + ")"
    return FileProblem(
        "schema_drift", problem,
        f"deliver the columns of the '{source.name}' contract (docs/landing_contract.md), "
        "or change landing/contract.py and the dbt sources together")


def _csv_truncated(scan: _Scan, header_len: int) -> FileProblem | None:
    if scan.quotes % 2:
        return FileProblem(
            "truncated", "an opening quote is never closed: the file ends inside a quoted field (cut mid-record)",
            "the transfer was cut off or a quote is unbalanced; deliver the complete file again")
    if not scan.ends_with_newline and scan.last_line.strip():
        fields = next(csv.reader(io.StringIO(scan.last_line.decode("utf-8", "replace"))), [])
        if len(fields) < header_len:
            return FileProblem(
                "truncated", f"the last line has {len(fields)} of {header_len} fields and no line end (cut mid-record)",
                "the transfer was cut off; deliver the complete file again")
    return None


def _jsonl_truncated(scan: _Scan) -> FileProblem | None:
    if scan.ends_with_newline or not scan.last_line.strip():
        return None
    try:
        json.loads(scan.last_line)
        return None
    except ValueError:
        return FileProblem("truncated", "the last line is an incomplete JSON object with no line end (cut mid-record)",
                           "the transfer was cut off; deliver the complete file again")


def _parquet_problem(landed: LandedFile, source: Source) -> FileProblem | None:
    with landed.path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(max(landed.size_bytes - 4, 0))
        tail = fh.read(4)
    if head != _PARQUET_MAGIC or tail != _PARQUET_MAGIC:
        return FileProblem(
            "truncated", f"not a complete Parquet file (no {_PARQUET_MAGIC.decode()} footer; {landed.size_bytes} bytes)",
            "the file was cut short or is not Parquet; deliver the complete file again")
    try:
        names = list(pq.read_schema(landed.path).names)
    except Exception as err:  # pyarrow raises several types for a corrupt footer
        return FileProblem("truncated", f"the Parquet footer cannot be read ({err})",
                           "the file is damaged; deliver it again")
    return _header_problem(landed, source, names)


def inspect(landed: LandedFile, source: Source) -> FileProblem | None:
    """The first whole-file problem of ``landed``, or None when it can be loaded row by row."""
    if landed.size_bytes == 0:
        return FileProblem("empty", "the file is empty (0 bytes)",
                           "an empty file usually means the export failed; deliver the export again "
                           "(a CSV with only its header row is accepted as 'no records')")
    if landed.file_format == "parquet":
        return _parquet_problem(landed, source)
    scan = _scan(landed.path, count_quotes=landed.file_format == "csv")
    if scan.bad_utf8_line is not None:
        return _encoding_problem(landed, scan)
    if landed.file_format == "jsonl":
        if not any(True for _ in _nonblank(landed)):
            return FileProblem("empty", "the file has no records (only blank lines)",
                               "an empty file usually means the export failed; deliver the export again")
        return _jsonl_truncated(scan)
    with landed.path.open("r", encoding="utf-8", newline="") as fh:
        header = next(csv.reader(io.StringIO(fh.readline())), [])
    if not [h for h in header if h.strip()]:
        return FileProblem("empty", "the file has no header row",
                           "deliver the export again with its header row (the contract's column names)")
    return _header_problem(landed, source, header) or _csv_truncated(scan, len(header))


def _nonblank(landed: LandedFile):
    with landed.path.open("rb") as fh:
        for line in fh:
            if line.strip():
                yield line
                return
