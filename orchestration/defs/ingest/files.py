"""Finding landing files and measuring them independently of the loader.

The loader trusts DuckDB's readers for the data itself; the row counts here come
from a second, simpler reading of each file so that reconciliation
(landed = loaded + quarantined) compares two independent counts.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from landing.contract import FILE_FORMATS

_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
_HASH_CHUNK = 1 << 20
_NEWLINE = ord("\n")
_BLANK_STARTS = np.frombuffer(b"\n \t\r\x0b\x0c", dtype=np.uint8)  # a line end, or what bytes.strip() strips


@dataclass(frozen=True)
class LandedFile:
    path: Path  # absolute
    relative_path: str  # relative to the landing root, with forward slashes; the stable identity
    file_format: str
    delivery_date: str  # the YYYY-MM-DD folder it was delivered into
    size_bytes: int

    def __post_init__(self):
        assert self.file_format in FILE_FORMATS


def discover(landing_dir: Path, source: str, delivery_dates: Container[str] | None = None) -> list[LandedFile]:
    """Files delivered for a source, sorted by delivery date then name.

    ``delivery_dates`` (anything supporting ``in``, e.g. a partition window) limits the folders
    looked into, so loading one day never lists or hashes the rest of the history.
    """
    source_dir = landing_dir / source
    if not source_dir.is_dir():
        return []
    found = []
    for date_dir in sorted(p for p in source_dir.iterdir() if p.is_dir()):
        if delivery_dates is not None and date_dir.name not in delivery_dates:
            continue
        for path in sorted(date_dir.iterdir()):
            fmt = _EXTENSIONS.get(path.suffix.lower())
            if fmt is None or not path.is_file():
                continue
            found.append(
                LandedFile(
                    path=path,
                    relative_path=path.relative_to(landing_dir).as_posix(),
                    file_format=fmt,
                    delivery_date=date_dir.name,
                    size_bytes=path.stat().st_size,
                )
            )
    return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def count_records(landed: LandedFile) -> int:
    """Records in the file, counted without DuckDB.

    CSV: records per Python's csv module (quoted line breaks stay one record),
    minus the header. JSONL: non-blank lines. Parquet: the footer's row count.
    """
    if landed.file_format == "parquet":
        return pq.ParquetFile(landed.path).metadata.num_rows
    if landed.file_format == "jsonl":
        return _count_jsonl_records(landed.path)
    with landed.path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        records = sum(1 for row in csv.reader(fh) if row)
    return max(records - 1, 0)


def _count_jsonl_records(path: Path) -> int:
    """Non-blank lines (blank: nothing but what bytes.strip() strips).

    A blank line starts with a line end or a space character, which almost no line of JSON does, so
    the lines are counted as line ends, and only a file where some line starts that way is read again
    line by line. Going through every line in Python cost as much as hashing the file.
    """
    lines, has_blank_candidate, last_byte = 0, False, _NEWLINE
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            data = np.frombuffer(chunk, dtype=np.uint8)
            ends = np.flatnonzero(data == _NEWLINE)
            lines += len(ends)
            if not has_blank_candidate:
                # first bytes of the lines starting in this chunk (the one after the previous chunk's last end too)
                starts = data[ends[ends + 1 < len(data)] + 1]
                first = data[:1] if last_byte == _NEWLINE else data[:0]
                has_blank_candidate = bool(np.isin(np.concatenate([first, starts]), _BLANK_STARTS).any())
            last_byte = int(data[-1])
    if has_blank_candidate:
        with path.open("rb") as fh:
            return sum(1 for line in fh if line.strip())
    return lines + (last_byte != _NEWLINE)


def read_csv_header(path: Path) -> list[str]:
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        first = fh.readline()
    return next(csv.reader(io.StringIO(first)), [])


def read_parquet_columns(path: Path) -> list[str]:
    return list(pq.read_schema(path).names)
