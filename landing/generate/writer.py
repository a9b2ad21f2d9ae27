"""Sort a chunk's records, split them by delivery day and write the landing files.

Layout: ``<out>/<source>/<YYYY-MM-DD>/<source>_<YYYY-MM-DD>_<chunk:03d>.<ext>``.
CSV and JSONL lines are rendered as one Arrow string array per batch and each
day's file is a single slice of its data buffer, so writing costs one memcpy.
Batches are cut at day boundaries to keep memory bounded at any scale.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from landing.contract import Source

from . import render
from .dirt import BadRows
from .params import DAY, NULL

BATCH_ROWS = 250_000


@dataclass
class WriteStats:
    rows: int = 0
    files: int = 0
    bytes: int = 0


def day_str(day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=int(day))).isoformat()


class Writer:
    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.stats: dict[str, WriteStats] = {}

    def write(self, source: Source, chunk: int, frame: render.Frame, delivery_day: np.ndarray,
              sort_time: np.ndarray, bad: BadRows | None = None) -> int:
        """Write one chunk of a source; returns the number of rows (records) written."""
        n = render.frame_len(frame) if frame else 0
        bad = bad if bad is not None and len(bad) else None
        m = len(bad) if bad else 0
        if n == 0:
            return 0
        days = delivery_day
        times = sort_time
        tiebreak = np.arange(n, dtype=np.int64) * 2
        if bad:
            # A malformed copy sorts right after the record it was copied from.
            days = np.concatenate([days, delivery_day[bad.rows]])
            times = np.concatenate([times, sort_time[bad.rows]])
            tiebreak = np.concatenate([tiebreak, bad.rows.astype(np.int64) * 2 + 1])
        perm = np.lexsort((tiebreak, times, days))
        sorted_days = days[perm]
        bounds = np.flatnonzero(np.diff(sorted_days)) + 1
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [n + m]])

        st = self.stats.setdefault(source.name, WriteStats())
        i = 0
        while i < len(starts):
            j = i
            while j + 1 < len(starts) and ends[j + 1] - starts[i] <= BATCH_ROWS:
                j += 1
            a, b = starts[i], ends[j]
            p = perm[a:b]
            is_bad = p >= n
            clean_rows = p[~is_bad]
            bad_pos = p[is_bad] - n
            order = np.where(is_bad, (~is_bad).sum() + np.cumsum(is_bad) - 1, np.cumsum(~is_bad) - 1)
            batch_days = [(int(sorted_days[starts[k]]), starts[k] - a, ends[k] - a) for k in range(i, j + 1)]
            self._write_batch(source, chunk, frame, clean_rows, bad, bad_pos, order, batch_days)
            i = j + 1
        st.rows += n + m
        return n + m

    def _path(self, source: Source, day: int, chunk: int) -> Path:
        d = day_str(day)
        folder = self.out_dir / source.name / d
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{source.name}_{d}_{chunk:03d}.{source.file_format}"

    def _write_batch(self, source, chunk, frame, clean_rows, bad, bad_pos, order, batch_days):
        sub = render.take(frame, clean_rows)
        st = self.stats[source.name]
        fmt = source.file_format
        if fmt == "parquet":
            arrays = {c.name: render.to_arrow(c, sub[c.name]) for c in source.columns}
            if len(bad_pos):
                typed_bad = bad_typed_frame(source, frame, bad, bad_pos)
                bad_arrays = {c.name: render.to_arrow(c, typed_bad[c.name]) for c in source.columns}
                arrays = {k: pa.concat_arrays([arrays[k], bad_arrays[k]]) for k in arrays}
            table = pa.table(arrays).take(pa.array(order))
            for day, lo, hi in batch_days:
                path = self._path(source, day, chunk)
                pq.write_table(table.slice(lo, hi - lo), path, compression="zstd")
                st.files += 1
                st.bytes += path.stat().st_size
            return
        lines = render.csv_lines(source, sub) if fmt == "csv" else render.json_lines(source, sub)
        if len(bad_pos):
            lines = pa.concat_arrays([lines, pa.array(bad_text_lines(source, frame, bad, bad_pos), pa.string())])
        lines = lines.take(pa.array(order))
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset: lines.offset + len(lines) + 1]
        data = memoryview(lines.buffers()[2])
        header = render.csv_header(source) if fmt == "csv" else b""
        for day, lo, hi in batch_days:
            path = self._path(source, day, chunk)
            with open(path, "wb") as fh:
                fh.write(header)
                fh.write(data[offsets[lo]: offsets[hi]])
            st.files += 1
            st.bytes += len(header) + int(offsets[hi] - offsets[lo])


def bad_typed_frame(source: Source, frame: render.Frame, bad: BadRows, pos: np.ndarray) -> render.Frame:
    """Corrupted copies as typed values (parquet can only carry null, range and set violations)."""
    sub = render.take(frame, bad.rows[pos])
    for col in source.columns:
        v = sub[col.name]
        hits = [(k, bad.tokens[p]) for k, p in enumerate(pos) if bad.columns[p] == col.name]
        if not hits:
            continue
        if isinstance(v, pa.Array):
            vals = v.to_pylist()
            for k, (kind_token) in hits:
                vals[k] = None if bad.kinds[pos[k]] == "required_empty" else kind_token[1]
            sub[col.name] = pa.array(vals, pa.string())
        else:
            v = v.copy()
            for k, tok in hits:
                v[k] = NULL if bad.kinds[pos[k]] == "required_empty" else tok[1]
            sub[col.name] = v
    return sub


def bad_text_lines(source: Source, frame: render.Frame, bad: BadRows, pos: np.ndarray) -> list[str]:
    """Corrupted copies as CSV or JSONL lines; each breaks exactly one ingest rule."""
    sub = render.take(frame, bad.rows[pos])
    cols = source.columns
    texts = [render.to_text(c, sub[c.name]).to_pylist() for c in cols]
    out = []
    for k, p in enumerate(pos):
        kind, colname, tok = bad.kinds[p], bad.columns[p], bad.tokens[p]
        row = [t[k] for t in texts]
        quoted = [c.type in render._QUOTED_TYPES for c in cols]
        if colname is not None:
            j = source.column_names.index(colname)
            if kind == "required_empty":
                row[j] = None
            else:
                row[j] = tok[0]
                # A bad token in a numeric column is a JSON string, since it is not a number.
                quoted[j] = kind in ("bad_cast", "not_allowed") or quoted[j]
        if source.file_format == "csv":
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(["" if x is None else x for x in row] + (["extra"] if kind == "wrong_field_count" else []))
            out.append(buf.getvalue())
        else:
            parts = []
            for c, x, q in zip(cols, row, quoted):
                val = "null" if x is None else (json.dumps(x, ensure_ascii=False) if q else x)
                parts.append(f'"{c.name}":{val}')
            line = "{" + ",".join(parts) + "}"
            if kind == "invalid_json":
                line = line[:-1]  # unterminated object: not JSON at all
            out.append(line + "\n")
    return out


def day_of(ts: np.ndarray) -> np.ndarray:
    return ts // DAY
