"""The streaming passes over each landed file: the independent record count and the whole-file scan.

Both read a file in chunks and take shortcuts for the common case (line ends counted at once, ASCII
chunks not decoded), so each is checked against the plain definition with the chunk shrunk until the
boundaries fall on every byte: a blank line, a line end or a character cut in two by a boundary.
"""

from __future__ import annotations

import pytest

from landing.contract import SOURCES
from orchestration.defs.ingest import file_checks, files

JSONL_CONTENTS = {
    "plain": b'{"a": 1}\n{"a": 2}\n',
    "no final line end": b'{"a": 1}\n{"a": 2}',
    "blank lines": b'{"a": 1}\n\n{"a": 2}\n\n',
    "whitespace-only lines": b'{"a": 1}\n \t\n\r\n{"a": 2}\n\x0b\x0c\n',
    "starts blank": b'\n\n{"a": 1}\n',
    "padded record": b'  {"a": 1}\n\t{"a": 2}\r\n',
    "windows line ends": b'{"a": 1}\r\n{"a": 2}\r\n',
    "only blanks": b"\n \n\t",
    "empty": b"",
    "one line": b'{"a": 1}',
    "not JSON at all": b"x\ny\n\nz",
}


def _by_definition(content: bytes) -> int:
    return sum(1 for line in content.splitlines(keepends=True) if line.strip())


def _landed(path, fmt: str) -> files.LandedFile:
    return files.LandedFile(path, f"web_events/2026-03-01/{path.name}", fmt, "2026-03-01", path.stat().st_size)


@pytest.mark.parametrize("name", JSONL_CONTENTS)
def test_jsonl_records_are_the_non_blank_lines_whatever_the_chunk_boundaries(tmp_path, monkeypatch, name):
    content = JSONL_CONTENTS[name]
    path = tmp_path / "f.jsonl"
    path.write_bytes(content)
    expected = _by_definition(content)
    for chunk in (1, 2, 3, 5, 8, 1 << 20):
        monkeypatch.setattr(files, "_HASH_CHUNK", chunk)
        assert files.count_records(_landed(path, "jsonl")) == expected, (name, chunk)


def test_jsonl_record_count_over_many_chunks_matches_the_definition(tmp_path, monkeypatch):
    # a blank line falls on a chunk boundary somewhere among thousands of records
    lines = [b'{"event_id": "E%d"}' % i for i in range(5000)]
    lines[1234] = b""
    lines[4321] = b"   "
    content = b"\n".join(lines) + b"\n"
    path = tmp_path / "many.jsonl"
    path.write_bytes(content)
    monkeypatch.setattr(files, "_HASH_CHUNK", 4096)
    assert files.count_records(_landed(path, "jsonl")) == 4998 == _by_definition(content)


def _bad_utf8_line(path, chunk: int, monkeypatch) -> str | None:
    monkeypatch.setattr(file_checks, "_CHUNK", chunk)
    problem = file_checks.inspect(_landed(path, "jsonl"), SOURCES["web_events"])
    return problem.problem if problem else None


def test_invalid_utf8_is_reported_at_its_line_whatever_the_chunk_boundaries(tmp_path, monkeypatch):
    good = '{"event_id": "E1", "page_url": "/caf\u00e9"}\n'.encode()
    path = tmp_path / "bad.jsonl"
    content = good * 3 + b'{"event_id": "E4", "page_url": "/caf\xe9"}\n' + good
    path.write_bytes(content)
    at = content.index(b"\xe9")
    for chunk in (1, 2, 3, 7, 64, 1 << 20):
        found = _bad_utf8_line(path, chunk, monkeypatch)
        # the byte itself, where it is: an invalid byte can be found only once the next one is read
        assert found and found.startswith(f"invalid UTF-8 at line 4 (byte {at}: e9 22"), (chunk, found)


def test_a_character_cut_by_a_chunk_boundary_is_not_invalid(tmp_path, monkeypatch):
    # multi-byte characters followed by plain ASCII: with tiny chunks an ASCII chunk follows an open character
    path = tmp_path / "ok.jsonl"
    path.write_bytes('{"event_id": "\u5f88\u597d", "page_url": "/\U0001f600/a"}\n'.encode() * 3)
    for chunk in (1, 2, 3, 5, 1 << 20):
        assert _bad_utf8_line(path, chunk, monkeypatch) is None, chunk


def test_a_character_cut_off_at_the_end_of_the_file_is_invalid_on_the_last_line(tmp_path, monkeypatch):
    path = tmp_path / "cut.jsonl"
    path.write_bytes(b'{"event_id": "E1"}\n{"event_id": "E2"}\n' + "\u5f88".encode()[:2])
    expected = f"invalid UTF-8 at line 3 (byte {path.stat().st_size - 2}: e5 be)"
    for chunk in (1, 4, 1 << 20):
        found = _bad_utf8_line(path, chunk, monkeypatch)
        assert found and found.startswith(expected), (chunk, found)
