"""Planted dirt: duplicates, late deliveries, missing values and malformed copies.

Every function returns exactly what it planted so truth.json can state counts,
not just rates. Malformed rows are *extra* corrupted copies of real records:
the real record is always delivered intact, so business truth is unaffected
and ingest's quarantine count can be asserted equal to the planted count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from landing.contract import Source

from . import render
from .params import NULL
from .vocab import NOT_ALLOWED

CAST_TOKENS = {
    "timestamp": ("not-a-date", "31/13/2026 25:61"),
    "date": ("not-a-date", "someday"),
    "decimal": ("12,50", "abc"),
    "integer": ("abc", "seven"),
    "boolean": ("maybe", "ja?"),
}


@dataclass
class BadRows:
    rows: np.ndarray  # index of the record each corrupted copy is made from
    kinds: list[str] = field(default_factory=list)
    columns: list[str | None] = field(default_factory=list)
    tokens: list[tuple] = field(default_factory=list)  # (text token, typed token)

    def __len__(self) -> int:
        return len(self.rows)

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(self.kinds).items()))


def _options(source: Source) -> dict[str, list]:
    """Which (kind -> columns) corruptions this source and file format can carry."""
    text = source.file_format in ("csv", "jsonl")
    opts = {
        "required_empty": [c for c in source.columns if c.required],
        "not_allowed": [c for c in source.columns if c.allowed],
        "out_of_range": [c for c in source.columns if c.min_value is not None or c.max_value is not None],
    }
    if text:
        opts["bad_cast"] = [c for c in source.columns if c.type != "string"]
    if source.file_format == "csv":
        opts["wrong_field_count"] = [None]
    if source.file_format == "jsonl":
        opts["invalid_json"] = [None]
    return {k: v for k, v in opts.items() if v}


def _out_of_range_token(col, rng) -> tuple[str, int]:
    if col.max_value is not None and (col.min_value is None or rng.random() < 0.5):
        v = int(col.max_value) + int(rng.integers(1, 3))
    else:
        v = int(col.min_value) - int(rng.integers(1, 3))
    if col.type == "decimal":
        cents = v * 100 - int(rng.integers(0, 100)) if v < 0 else v * 100
        sign = "-" if cents < 0 else ""
        return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}", cents
    return str(v), v


def malformed(source: Source, n: int, rate: float, rng: np.random.Generator) -> BadRows:
    rows = np.flatnonzero(rng.random(n) < rate)
    bad = BadRows(rows)
    opts = _options(source)
    kinds = sorted(opts)
    for _ in rows:
        kind = kinds[int(rng.integers(len(kinds)))]
        cands = opts[kind]
        col = cands[int(rng.integers(len(cands)))]
        bad.kinds.append(kind)
        bad.columns.append(None if col is None else col.name)
        if kind == "bad_cast":
            toks = CAST_TOKENS[col.type]
            bad.tokens.append((toks[int(rng.integers(len(toks)))], None))
        elif kind == "not_allowed":
            bad.tokens.append((NOT_ALLOWED.get(col.name, "invalid"), NOT_ALLOWED.get(col.name, "invalid")))
        elif kind == "out_of_range":
            bad.tokens.append(_out_of_range_token(col, rng))
        else:
            bad.tokens.append((None, None))
    return bad


def duplicates(n: int, rate: float, rng: np.random.Generator, delivery_day: np.ndarray,
               last_day: int, max_delay: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Rows to deliver a second time unchanged, and the (same or later) day they arrive."""
    rows = np.flatnonzero(rng.random(n) < rate)
    delay = rng.integers(0, max_delay + 1, len(rows))
    return rows, np.minimum(delivery_day[rows] + delay, last_day)


def late_delay(n: int, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Days each record arrives after its business date: mostly 0, `rate` of them 1-3."""
    delay = np.zeros(n, dtype=np.int64)
    late = rng.random(n) < rate
    delay[late] = rng.integers(1, 4, int(late.sum()))
    return delay


def blank(values, rate: float, rng: np.random.Generator):
    """Blank out `rate` of an optional column (truth counts nulls in the final data)."""
    hit = rng.random(len(values)) < rate
    if isinstance(values, pa.Array):
        return pc.if_else(pa.array(hit), pa.scalar(None, values.type), values)
    out = values.copy()
    out[hit] = NULL
    return out


def null_counts(source: Source, frame: render.Frame) -> dict[str, int]:
    """Missing values per optional column, as delivered."""
    out = {}
    for c in source.columns:
        if c.required:
            continue
        v = frame[c.name]
        out[c.name] = int(v.null_count) if isinstance(v, pa.Array) else int((v == NULL).sum())
    return out


def take_frame(frame: render.Frame, rows: np.ndarray) -> render.Frame:
    return render.take(frame, rows)
