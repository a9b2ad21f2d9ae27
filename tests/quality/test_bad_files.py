"""A corpus of whole-file problems, each rejected with its documented outcome (see rejects.RULES)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.defs.ingest.errors import RejectedFilesError
from orchestration.defs.ingest.loader import load_source

TICKETS = ["ticket_id", "customer_id", "opened_at", "closed_at", "channel", "category", "satisfaction",
           "description", "updated_at"]
CAMPAIGN = ["event_id", "campaign_id", "variant", "customer_id", "event_type", "occurred_at"]


def _ticket(i: int) -> list[str]:
    return [f"T{i}", f"C{i}", "2026-03-01T09:00:00Z", "", "chat", "delivery", "4", "包裹晚到了, late parcel",
            "2026-03-01T10:00:00Z"]


def _csv_text(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _orders_parquet(path: Path) -> None:
    pq.write_table(pa.table({
        "order_id": ["O1"], "customer_id": ["C1"], "ordered_at": ["2026-03-01T09:00:00Z"], "channel": ["web"],
        "status": ["completed"], "subtotal_amount": [10.0], "discount_amount": [0.0], "shipping_amount": [1.0],
        "total_amount": [11.0], "updated_at": ["2026-03-01T09:00:00Z"]}), path)


def _write(landing: Path, rel: str, content) -> Path:
    path = landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if callable(content):
        content(path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


GOOD_TICKETS = _csv_text(TICKETS, [_ticket(i) for i in range(3)])
CUT_MID_QUOTE = GOOD_TICKETS + 'T9,C9,2026-03-01T09:00:00Z,,chat,delivery,4,"the parcel never'

# (case, source, bad file, its content, kind, words the message must contain)
CORPUS = [
    ("empty", "support_tickets", "support_tickets/2026-03-02/empty.csv", b"", "empty", "empty"),
    ("semicolons", "support_tickets", "support_tickets/2026-03-02/semi.csv",
     _csv_text(TICKETS, [_ticket(7)], delimiter=";"), "delimiter", "semicolon"),
    ("renamed column", "support_tickets", "support_tickets/2026-03-02/renamed.csv",
     _csv_text([h if h != "category" else "ticket_category" for h in TICKETS], [_ticket(7)]), "schema_drift",
     "ticket_category -> category"),
    ("missing column", "support_tickets", "support_tickets/2026-03-02/missing.csv",
     _csv_text(TICKETS[:-1], [_ticket(7)[:-1]]), "schema_drift", "missing columns ['updated_at']"),
    ("GBK encoding", "support_tickets", "support_tickets/2026-03-02/gbk.csv",
     _csv_text(TICKETS, [_ticket(7)]).encode("gbk"), "encoding", "re-export the file as UTF-8"),
    ("CSV cut mid-record", "support_tickets", "support_tickets/2026-03-02/cut.csv", CUT_MID_QUOTE, "truncated",
     "quote is never closed"),
    ("Parquet cut short", "orders", "orders/2026-03-02/cut.parquet",
     lambda p: (_orders_parquet(p), p.write_bytes(p.read_bytes()[:-40])), "truncated", "Parquet"),
]


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "wh.duckdb"))
    yield connection
    connection.close()


@pytest.mark.parametrize("case,source,rel,content,kind,words", CORPUS, ids=[c[0] for c in CORPUS])
def test_fail_rule_sources_reject_the_file_load_the_rest_and_fail(con, tmp_path, case, source, rel, content, kind,
                                                                  words):
    landing, rejected = tmp_path / "landing", tmp_path / "rejected_files"
    if source == "orders":
        _write(landing, "orders/2026-03-01/good.parquet", _orders_parquet)
    else:
        _write(landing, "support_tickets/2026-03-01/good.csv", GOOD_TICKETS)
    bad = _write(landing, rel, content)

    with pytest.raises(RejectedFilesError) as err:
        load_source(con, source, landing, rejected_dir=rejected)

    message = str(err.value)
    assert rel in message and words in message and "Fix:" in message
    assert not bad.exists() and (rejected / rel).exists(), "the file is moved aside, never deleted"
    assert con.execute("select kind, rule, moved_to from quality.rejected_files").fetchall() == [
        (kind, "fail", str(rejected / rel))]
    # the good file of the same source was loaded before the run failed
    assert con.execute(f"select count(*) from raw.{source}").fetchone()[0] == (1 if source == "orders" else 3)


def test_continue_rule_source_rejects_the_file_and_the_run_goes_on(con, tmp_path):
    landing, rejected = tmp_path / "landing", tmp_path / "rejected_files"
    good = [["E1", "K1", "control", "C1", "sent", "2026-03-01T09:00:00Z"]]
    _write(landing, "campaign_events/2026-03-01/good.csv", _csv_text(CAMPAIGN, good))
    _write(landing, "campaign_events/2026-03-01/tabs.csv", _csv_text(CAMPAIGN, good, delimiter="\t"))
    result = load_source(con, "campaign_events", landing, rejected_dir=rejected)
    assert [(r.kind, r.rule) for r in result.rejected] == [("delimiter", "continue")]
    assert result.rows_loaded == 1
    assert (rejected / "campaign_events/2026-03-01/tabs.csv").exists()


def test_truncated_jsonl_in_an_event_stream_is_rejected_and_the_run_continues(con, tmp_path):
    landing, rejected = tmp_path / "landing", tmp_path / "rejected_files"
    event = {"event_id": "E1", "anonymous_id": "A1", "occurred_at": "2026-03-01T09:00:00Z", "event_type": "search"}
    text = json.dumps(event) + "\n" + json.dumps({**event, "event_id": "E2"})[:30]
    _write(landing, "web_events/2026-03-01/cut.jsonl", text)
    result = load_source(con, "web_events", landing, rejected_dir=rejected)
    assert [(r.kind, r.rule) for r in result.rejected] == [("truncated", "continue")]
    assert "incomplete JSON" in result.rejected[0].problem


def test_duplicate_delivery_is_moved_aside_and_nothing_is_lost(con, tmp_path):
    landing, rejected = tmp_path / "landing", tmp_path / "rejected_files"
    _write(landing, "support_tickets/2026-03-01/a.csv", GOOD_TICKETS)
    load_source(con, "support_tickets", landing, rejected_dir=rejected)
    _write(landing, "support_tickets/2026-03-02/a_again.csv", GOOD_TICKETS)
    result = load_source(con, "support_tickets", landing, rejected_dir=rejected)  # no raise: nothing is lost
    assert [(r.kind, r.rule) for r in result.rejected] == [("duplicate", "continue")]
    assert "same content as support_tickets/2026-03-01/a.csv" in result.rejected[0].problem
    assert (rejected / "support_tickets/2026-03-02/a_again.csv").exists()
    assert con.execute("select count(*) from raw.support_tickets").fetchone()[0] == 3


def test_header_only_csv_is_accepted_as_no_records(con, tmp_path):
    landing = tmp_path / "landing"
    _write(landing, "support_tickets/2026-03-01/none.csv", _csv_text(TICKETS, []))
    result = load_source(con, "support_tickets", landing, rejected_dir=tmp_path / "rejected_files")
    assert result.rejected == [] and result.rows_landed == 0
