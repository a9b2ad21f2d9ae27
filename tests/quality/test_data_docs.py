"""The Data Docs site stays bounded: old suite runs are pruned, so a check's rendering cost does not grow with history.
Checks render their own pages; the index is rendered once after a run, or by the sensor, when it is behind."""

from pathlib import Path

import dagster as dg
import duckdb

from orchestration.defs.quality import data_docs
from orchestration.defs.quality.data_docs_sensor import data_docs_index
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
        data_docs.publish(tmp_path, result, f"run-{i}")
    index = data_docs.build_index(tmp_path)

    store = tmp_path / "quality" / "gx" / "uncommitted" / "validations"
    pages = tmp_path / "quality" / "data_docs" / "validations"
    runs_stored = sorted(p.parent.parent.name for p in store.rglob("*.json"))
    runs_shown = sorted(p.parent.parent.name for p in pages.rglob("*.html"))
    # each time a fifth result went over keep + slack = 4, the oldest were pruned down to 3
    assert runs_stored == runs_shown == ["run-4", "run-5", "run-6"]
    html = index.read_text(encoding="utf-8")
    assert "run-6" in html and not any(f"run-{i}" in html for i in range(4))
    assert not (store / "t" / "things" / "run-0").exists(), "emptied folders are removed too"


def _things_result():
    con = duckdb.connect()
    con.execute("create schema t; create table t.things as select range as id from range(5)")
    return run_suite(con, Suite("t.things", Path("t.things.json"), (
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},), {}))


def test_the_index_is_rendered_once_results_are_newer_than_it(tmp_path):
    result = _things_result()
    assert not data_docs.index_is_stale(tmp_path), "nothing stored yet"
    page = data_docs.publish(tmp_path, result, "run-a")
    assert page.suffix == ".html" and "run-a" in page.parts and "t.things" in page.read_text(encoding="utf-8")
    assert not data_docs.index_path(tmp_path).exists(), "a check renders its page, not the index"
    assert data_docs.index_is_stale(tmp_path)

    index = data_docs.refresh_index(tmp_path)
    assert "run-a" in index.read_text(encoding="utf-8")
    assert not data_docs.index_is_stale(tmp_path) and data_docs.refresh_index(tmp_path) is None

    data_docs.publish(tmp_path, result, "run-b")
    assert data_docs.index_is_stale(tmp_path)
    assert "run-b" in data_docs.refresh_index(tmp_path).read_text(encoding="utf-8")


def test_the_sensor_renders_a_stale_index_and_starts_no_run(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    data_docs.publish(tmp_path, _things_result(), "run-from-the-ui")

    with dg.instance_for_test() as instance:
        first = data_docs_index(dg.build_sensor_context(instance=instance))
        second = data_docs_index(dg.build_sensor_context(instance=instance))

    assert isinstance(first, dg.SkipReason) and "rebuilt" in first.skip_message
    assert "run-from-the-ui" in data_docs.index_path(tmp_path).read_text(encoding="utf-8")
    assert isinstance(second, dg.SkipReason) and "lists every stored result" in second.skip_message
