"""The Data Docs site stays bounded: old suite runs are pruned, so a check's rendering cost does not grow with history."""

from pathlib import Path

import duckdb

from orchestration.defs.quality import data_docs
from orchestration.defs.quality.runner import run_suite
from orchestration.defs.quality.suites import Suite


def test_the_site_keeps_the_newest_results_and_drops_older_ones_with_their_pages(tmp_path, monkeypatch):
    monkeypatch.setattr(data_docs, "KEEP_RESULTS", 3)
    monkeypatch.setattr(data_docs, "PRUNE_SLACK", 1)
    con = duckdb.connect()
    con.execute("create schema t; create table t.things as select range as id from range(5)")
    result = run_suite(con, Suite("t.things", Path("t.things.json"), (
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},), {}))

    for i in range(7):
        index = data_docs.publish(tmp_path, result, f"run-{i}")

    store = tmp_path / "quality" / "gx" / "uncommitted" / "validations"
    pages = tmp_path / "quality" / "data_docs" / "validations"
    runs_stored = sorted(p.parent.parent.name for p in store.rglob("*.json"))
    runs_shown = sorted(p.parent.parent.name for p in pages.rglob("*.html"))
    # each time a fifth result went over keep + slack = 4, the oldest were pruned down to 3
    assert runs_stored == runs_shown == ["run-4", "run-5", "run-6"]
    html = index.read_text(encoding="utf-8")
    assert "run-6" in html and not any(f"run-{i}" in html for i in range(4))
    assert not (store / "t" / "things" / "run-0").exists(), "emptied folders are removed too"
