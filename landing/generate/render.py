"""Typed in-memory columns -> Arrow arrays, CSV cells and JSON values, vectorised.

A frame is a dict column -> values. String columns are Arrow string arrays;
every other logical type is an int64 numpy array with ``NULL`` as the missing
marker (timestamps in epoch seconds, decimals in cents, dates in epoch days,
booleans as 0/1). Rendering whole columns with Arrow kernels is what keeps
50M web events to minutes; nothing here loops over rows in Python.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from landing.contract import Column, Source

from .params import NULL

Frame = dict  # column name -> pa.Array (strings) | np.ndarray (everything else)


def fixed_ids(prefix: str, nums: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``nums`` built straight into an Arrow buffer."""
    p = np.frombuffer(prefix.encode(), dtype=np.uint8)
    n = len(nums)
    w = len(p) + width
    m = np.empty((n, w), dtype=np.uint8)
    m[:, : len(p)] = p
    x = np.asarray(nums, dtype=np.int64).copy()
    for k in range(width - 1, -1, -1):
        m[:, len(p) + k] = x % 10 + 48
        x //= 10
    offsets = np.arange(n + 1, dtype=np.int32) * w
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(m))


def frame_len(frame: Frame) -> int:
    return len(next(iter(frame.values())))


def take(frame: Frame, idx: np.ndarray) -> Frame:
    out = {}
    pidx = pa.array(idx, type=pa.int64())
    for k, v in frame.items():
        out[k] = v.take(pidx) if isinstance(v, pa.Array) else v[idx]
    return out


def concat(frames: list[Frame]) -> Frame:
    frames = [f for f in frames if f and frame_len(f)]
    if not frames:
        return {}
    out = {}
    for k, v in frames[0].items():
        if isinstance(v, pa.Array):
            out[k] = pa.concat_arrays([f[k] for f in frames])
        else:
            out[k] = np.concatenate([f[k] for f in frames])
    return out


def _mask(v: np.ndarray) -> np.ndarray | None:
    m = v == NULL
    return m if m.any() else None


def decimal_array(cents: np.ndarray) -> pa.Array:
    """DECIMAL(18,2) from int64 cents by laying out the 128-bit values directly (exact, no float)."""
    n = len(cents)
    words = np.empty((n, 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # sign extension of the two's complement high word
    mask = _mask(cents)
    validity = None
    if mask is not None:
        words[mask] = 0
        validity = pa.array(~mask).buffers()[1]
    return pa.Array.from_buffers(pa.decimal128(18, 2), n, [validity, pa.py_buffer(words)], null_count=-1)


def to_arrow(col: Column, v) -> pa.Array:
    """Typed Arrow array for parquet files."""
    if col.type == "string":
        return v
    m = _mask(v)
    if col.type == "timestamp":
        return pa.array(np.where(m, 0, v) if m is not None else v, type=pa.int64(), mask=m).cast(pa.timestamp("s"))
    if col.type == "date":
        return pa.array(np.where(m, 0, v).astype(np.int32) if m is not None else v.astype(np.int32), mask=m).cast(pa.date32())
    if col.type == "decimal":
        return decimal_array(v)
    if col.type == "integer":
        return pa.array(v, type=pa.int64(), mask=m)
    if col.type == "boolean":
        return pa.array(v == 1, mask=m)
    raise ValueError(f"unknown logical type {col.type!r} of column {col.name!r}")


def _decimal_text(cents: np.ndarray) -> pa.Array:
    m = _mask(cents)
    c = np.where(m, 0, cents) if m is not None else cents
    a = np.abs(c)
    whole = pc.cast(pa.array(a // 100), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(a % 100), pa.string()), 2, "0")
    sign = pc.if_else(pa.array(c < 0), "-", "")
    out = pc.binary_join_element_wise(sign, whole, ".", frac, "")
    return out if m is None else pc.if_else(pa.array(m), pa.scalar(None, pa.string()), out)


def to_text(col: Column, v) -> pa.Array:
    """The value as it is spelled in CSV and JSONL (unquoted, nulls stay null)."""
    if col.type == "string":
        return v
    if col.type == "timestamp":
        s = pc.cast(to_arrow(col, v), pa.string())  # "YYYY-MM-DD HH:MM:SS"
        return pc.binary_join_element_wise(pc.utf8_replace_slice(s, 10, 11, "T"), "Z", "")
    if col.type == "date":
        return pc.cast(to_arrow(col, v), pa.string())
    if col.type == "decimal":
        return _decimal_text(v)
    if col.type == "integer":
        return pc.cast(to_arrow(col, v), pa.string())
    if col.type == "boolean":
        return pc.if_else(to_arrow(col, v), "true", "false")
    raise ValueError(f"unknown logical type {col.type!r} of column {col.name!r}")


_QUOTED_TYPES = {"string", "timestamp", "date"}


def json_values(col: Column, text: pa.Array) -> pa.Array:
    """JSON literals: strings quoted and escaped, numbers and booleans bare, null for missing."""
    if col.type in _QUOTED_TYPES:
        # Escaping costs two full copies; most columns (ids, times, codes) never need it.
        if pc.any(pc.match_substring_regex(text, r'["\\]')).as_py():
            text = pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')
        text = pc.binary_join_element_wise('"', text, '"', "")
    return pc.fill_null(text, "null")


def csv_cells(col: Column, text: pa.Array) -> pa.Array:
    """RFC 4180 quoting where needed; missing values are empty fields."""
    if col.type == "string":
        needs = pc.fill_null(pc.match_substring_regex(text, '[",\r\n]'), False)
        if pc.any(needs).as_py():
            quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
            text = pc.if_else(needs, quoted, text)
    return pc.fill_null(text, "")


def csv_header(source: Source) -> bytes:
    return (",".join(source.column_names) + "\n").encode()


def csv_lines(source: Source, frame: Frame) -> pa.Array:
    cells = [csv_cells(c, to_text(c, frame[c.name])) for c in source.columns]
    return pc.binary_join_element_wise(*_interleave(cells, [","] * (len(cells) - 1)), "\n", "")


def json_lines(source: Source, frame: Frame) -> pa.Array:
    vals = [json_values(c, to_text(c, frame[c.name])) for c in source.columns]
    keys = ['{"%s":' % source.columns[0].name] + [',"%s":' % c.name for c in source.columns[1:]]
    parts = []
    for k, v in zip(keys, vals):
        parts += [k, v]
    return pc.binary_join_element_wise(*parts, "}\n", "")


def _interleave(values, seps):
    out = []
    for i, v in enumerate(values):
        out.append(v)
        if i < len(seps):
            out.append(seps[i])
    return out
