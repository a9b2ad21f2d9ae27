"""Ingest: idempotent loads, row-level quarantine with reasons and lines, reconciliation."""

from __future__ import annotations

import csv
from decimal import Decimal
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.defs.ingest.errors import LandingFileError
from orchestration.defs.ingest.loader import load_source

TICKET_HEADER = ["ticket_id", "customer_id", "opened_at", "closed_at", "channel", "category", "satisfaction",
                 "description", "updated_at"]


def _ticket(i: int, **overrides) -> dict:
    row = {"ticket_id": f"T{i:05d}", "customer_id": f"C{i:08d}", "opened_at": "2026-03-01T09:00:00Z",
           "closed_at": "", "channel": "chat", "category": "delivery", "satisfaction": "4",
           "description": "包裹晚到了, late parcel", "updated_at": "2026-03-01T10:00:00Z"}
    row.update(overrides)
    return row


def _write_csv(path: Path, rows: list[dict], header=TICKET_HEADER, extra_lines: dict[int, str] | None = None):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        for i, row in enumerate(rows):
            if extra_lines and i in extra_lines:
                fh.write(extra_lines[i] + "\n")
            writer.writerow(row)


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "wh.duckdb"))
    yield connection
    connection.close()


def _counts(con, source):
    raw = con.execute(f"select count(*) from raw.{source}").fetchone()[0]
    quarantined = con.execute(f"select count(*) from quality.quarantine_{source}").fetchone()[0]
    return raw, quarantined


def test_loading_twice_is_the_same_as_once(con, tmp_path):
    landing = tmp_path / "landing"
    _write_csv(landing / "support_tickets/2026-03-01/a.csv", [_ticket(i) for i in range(50)])
    _write_csv(landing / "support_tickets/2026-03-02/b.csv", [_ticket(i) for i in range(50, 80)])
    first = load_source(con, "support_tickets", landing)
    second = load_source(con, "support_tickets", landing)
    assert first.rows_loaded == 80 and first.rows_quarantined == 0
    assert second.files == [] and second.skipped_unchanged == 2
    assert _counts(con, "support_tickets") == (80, 0)
    # a new delivery is picked up on the next run, and only it
    _write_csv(landing / "support_tickets/2026-03-03/c.csv", [_ticket(i) for i in range(80, 85)])
    third = load_source(con, "support_tickets", landing)
    assert [f.source_file for f in third.files] == ["support_tickets/2026-03-03/c.csv"]
    assert _counts(con, "support_tickets") == (85, 0)


def test_bad_rows_are_quarantined_with_reason_and_line(con, tmp_path):
    landing = tmp_path / "landing"
    rows = [_ticket(i) for i in range(10)]
    rows[2] = _ticket(2, customer_id="")  # line 4: missing required
    rows[5] = _ticket(5, opened_at="not-a-date")  # line 8 (after the extra line at index 4 shifts it to line 8)
    rows[7] = _ticket(7, satisfaction="7")  # out of range
    rows[8] = _ticket(8, channel="fax")  # not an allowed value
    _write_csv(landing / "support_tickets/2026-03-01/a.csv", rows, extra_lines={4: "T9,too,few"})
    result = load_source(con, "support_tickets", landing)

    assert result.rows_landed == 11
    assert (result.rows_loaded, result.rows_quarantined) == (6, 5)
    assert result.rows_landed == result.rows_loaded + result.rows_quarantined
    quarantined = dict(con.execute(
        "select _source_row, _reason from quality.quarantine_support_tickets order by _source_row").fetchall())
    assert quarantined[4] == "missing required customer_id"
    assert "unreadable CSV line" in quarantined[6]
    assert quarantined[8].startswith("opened_at: cannot read not-a-date as timestamp")
    assert quarantined[10] == "satisfaction: 7 is above 5"
    assert quarantined[11].startswith("channel: value fax is not one of")
    # good rows keep their physical line numbers across the rejected line
    lines = [r[0] for r in con.execute("select _source_row from raw.support_tickets order by 1").fetchall()]
    assert lines == [2, 3, 5, 7, 9, 12]
    ledger = con.execute("select rows_landed, rows_loaded, rows_quarantined from quality.ingest_files").fetchall()
    assert ledger == [(11, 6, 5)]


def test_jsonl_invalid_lines_and_unknown_keys(con, tmp_path):
    path = tmp_path / "landing/survey_responses/2026-03-01/s.jsonl"
    path.parent.mkdir(parents=True)
    good = {"response_id": "R1", "customer_id": "C1", "responded_at": "2026-03-01T08:00:00Z", "nps_score": 9,
            "comment": "很好 great"}
    lines = [json.dumps(good, ensure_ascii=False),
             "{not json",
             json.dumps({**good, "response_id": "R2", "nps_score": 11}),
             "",
             json.dumps({**good, "response_id": "R3", "surprise": 1}),
             json.dumps({**good, "response_id": "R4", "nps_score": "ten"}),
             json.dumps({**good, "response_id": "R5", "comment": None})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = load_source(con, "survey_responses", tmp_path / "landing")
    assert (result.rows_landed, result.rows_loaded, result.rows_quarantined) == (6, 2, 4)
    reasons = dict(con.execute("select _source_row, _reason from quality.quarantine_survey_responses").fetchall())
    assert reasons[2] == "not a JSON object on one line"
    assert reasons[3] == "nps_score: 11 is above 10"
    assert reasons[5] == "unknown keys surprise"
    assert reasons[6].startswith("nps_score: cannot read ten")
    assert con.execute("select list(response_id order by response_id), list(comment order by response_id) "
                       "from raw.survey_responses").fetchone() == (["R1", "R5"], ["很好 great", None])


def test_jsonl_lines_are_numbered_per_file_and_blank_or_padded_text_is_read_as_before(con, tmp_path):
    day = tmp_path / "landing/survey_responses/2026-03-01"
    day.mkdir(parents=True)
    good = {"response_id": "R1", "customer_id": "C1", "responded_at": "2026-03-01T08:00:00Z", "nps_score": 9,
            "comment": "ok"}
    # one load group of two files: line numbers restart in each file
    (day / "a.jsonl").write_text("\n".join([
        json.dumps(good),
        "{not json",
        "   " + json.dumps({**good, "response_id": "R2"}),  # padded line: still one JSON object
    ]) + "\n", encoding="utf-8")
    (day / "b.jsonl").write_text("\n".join([
        "\t ",  # whitespace only: not a record in either count
        json.dumps({**good, "response_id": "R3", "nps_score": " 10 "}),  # padded number text reads as 10
        json.dumps({**good, "response_id": "R4", "nps_score": " 11 "}),
        json.dumps({**good, "response_id": "R5", "nps_score": "   "}),  # blank is missing, not unreadable
    ]) + "\n", encoding="utf-8")
    result = load_source(con, "survey_responses", tmp_path / "landing")
    assert (result.rows_landed, result.rows_loaded, result.rows_quarantined) == (6, 3, 3)
    quarantined = con.execute("select _source_file, _source_row, _reason from quality.quarantine_survey_responses "
                              "order by 1, 2").fetchall()
    assert quarantined == [("survey_responses/2026-03-01/a.jsonl", 2, "not a JSON object on one line"),
                           ("survey_responses/2026-03-01/b.jsonl", 3, "nps_score:  11  is above 10"),
                           ("survey_responses/2026-03-01/b.jsonl", 4, "missing required nps_score")]
    loaded = con.execute("select response_id, _source_file, _source_row, nps_score from raw.survey_responses "
                         "order by 1").fetchall()
    assert loaded == [("R1", "survey_responses/2026-03-01/a.jsonl", 1, 9),
                      ("R2", "survey_responses/2026-03-01/a.jsonl", 3, 9),
                      ("R3", "survey_responses/2026-03-01/b.jsonl", 2, 10)]


def test_parquet_range_violations_and_typed_values(con, tmp_path):
    path = tmp_path / "landing/order_items/2026-03-01/i.parquet"
    path.parent.mkdir(parents=True)
    table = pa.table({
        "order_id": ["O1", "O1", "O2", None],
        "line_number": pa.array([1, 2, 1, 1], pa.int64()),
        "product_id": ["P1", "P2", "P3", "P4"],
        "quantity": pa.array([2, 0, 1, 1], pa.int64()),
        "unit_price": pa.array([9.99, 5.0, 12.5, 3.0]),
        "ordered_at": pa.array([1772355600, 1772355600, 1772355700, 1772355800], pa.timestamp("s")),
    })
    pq.write_table(table, path)
    result = load_source(con, "order_items", tmp_path / "landing")
    assert (result.rows_loaded, result.rows_quarantined) == (2, 2)
    assert con.execute("select sum(quantity * unit_price) from raw.order_items").fetchone()[0] == Decimal("32.48")
    assert con.execute("select typeof(unit_price), typeof(ordered_at) from raw.order_items limit 1").fetchone() == (
        "DECIMAL(18,2)", "TIMESTAMP")
    assert sorted(r[0] for r in con.execute("select _reason from quality.quarantine_order_items").fetchall()) == [
        "missing required order_id", "quantity: 0 is below 1"]


def _order_items_parquet(path: Path, first_order: int, rows: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({
        "order_id": [f"O{first_order + i}" for i in range(rows)],
        "line_number": pa.array([1] * rows, pa.int64()),
        "product_id": [f"P{i % 7}" for i in range(rows)],
        "quantity": pa.array([0 if i == 3 else 1 for i in range(rows)], pa.int64()),  # one bad row per file
        "unit_price": pa.array([2.5] * rows),
        "ordered_at": pa.array([1772355600 + i for i in range(rows)], pa.timestamp("s")),
    }), path)


def test_parquet_groups_are_bounded_by_records_not_only_bytes(tmp_path):
    """Parquet's compressed bytes hide how many rows a group holds; the footer's counts close groups."""
    landing = tmp_path / "landing"
    for day in range(5):
        _order_items_parquet(landing / f"order_items/2026-03-0{day + 1}/items.parquet", day * 100, 30)

    def load(db: str, group_records: int):
        groups = []
        with duckdb.connect(str(tmp_path / db)) as con:
            result = load_source(con, "order_items", landing, group_records=group_records,
                                 progress=lambda source, done, total: groups.append(done))
            table = con.execute("select * exclude (_batch_id, _loaded_at) from raw.order_items "
                                "order by _source_file, _source_row").fetchall()
            quarantined = con.execute("select _source_file, _source_row, _reason from quality.quarantine_order_items "
                                      "order by 1, 2").fetchall()
        return result, groups, table, quarantined

    small, small_groups, small_table, small_quarantine = load("small.duckdb", group_records=60)
    whole, whole_groups, whole_table, whole_quarantine = load("whole.duckdb", group_records=1_000_000)
    assert small_groups == [2, 4, 5] and whole_groups == [5]  # files done after each group
    assert (small.rows_landed, small.rows_loaded, small.rows_quarantined) == (150, 145, 5)
    assert small_table == whole_table and small_quarantine == whole_quarantine
    assert [r[1] for r in small_quarantine] == [4] * 5  # the 4th row of each file, numbered per file


def test_changed_file_replaces_its_rows_and_duplicate_delivery_is_not_loaded(con, tmp_path):
    landing = tmp_path / "landing"
    target = landing / "support_tickets/2026-03-01/a.csv"
    _write_csv(target, [_ticket(i) for i in range(5)])
    load_source(con, "support_tickets", landing)
    _write_csv(target, [_ticket(i, category="returns") for i in range(7)])  # corrected re-delivery
    load_source(con, "support_tickets", landing)
    assert con.execute("select count(*), count(distinct category) from raw.support_tickets").fetchone() == (7, 1)

    copy = landing / "support_tickets/2026-03-02/a_again.csv"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(target.read_bytes())
    result = load_source(con, "support_tickets", landing)
    assert [(f.source_file, f.status) for f in result.files] == [
        ("support_tickets/2026-03-02/a_again.csv", "duplicate_delivery")]
    assert _counts(con, "support_tickets") == (7, 0)


def test_schema_drift_names_the_file_and_loads_nothing(con, tmp_path):
    landing = tmp_path / "landing"
    header = [h if h != "category" else "ticket_category" for h in TICKET_HEADER]
    rows = [{("ticket_category" if k == "category" else k): v for k, v in _ticket(1).items()}]
    _write_csv(landing / "support_tickets/2026-03-01/renamed.csv", rows, header=header)
    with pytest.raises(LandingFileError) as err:
        load_source(con, "support_tickets", landing)
    message = str(err.value)
    assert "support_tickets/2026-03-01/renamed.csv" in message
    assert "missing columns ['category']" in message and "unknown columns ['ticket_category']" in message
    assert _counts(con, "support_tickets") == (0, 0)
