"""Which asset a suite's blocking check sits on: the table's own asset, or the assets that write it."""

import inspect
import json

import pytest

from orchestration.defs.quality.checks import build_quality_checks, quality_checks
from orchestration.defs.quality.suites import load_suite


def _write(directory, name, **meta):
    (directory / f"{name}.json").write_text(json.dumps({"name": name, "expectations": [
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}], "meta": meta}))


def _specs(checks) -> set[tuple[str, str, bool]]:
    return {(spec.asset_key.to_user_string(), spec.name, spec.blocking) for c in checks for spec in c.check_specs}


def test_a_table_written_by_other_assets_gets_a_blocking_check_on_each_writer(tmp_path):
    _write(tmp_path, "t.plain")
    _write(tmp_path, "t.history", asset_keys=[["t", "writer_a"], ["t", "writer_b"]])
    assert _specs(build_quality_checks(tmp_path)) == {
        ("t/plain", "expectation_suite", True),
        # named after the table, so the UI says what the check on writer_a validates
        ("t/writer_a", "expectation_suite_history", True),
        ("t/writer_b", "expectation_suite_history", True),
    }


@pytest.mark.parametrize("asset_keys", [[], ["t", "writer"], [["t", 1]], [[]]])
def test_malformed_asset_keys_name_the_file(tmp_path, asset_keys):
    _write(tmp_path, "t.history", asset_keys=asset_keys)
    with pytest.raises(ValueError, match=r"t\.history\.json: meta\.asset_keys"):
        load_suite(tmp_path / "t.history.json")


def test_every_suite_check_sits_on_an_asset_the_code_location_materializes():
    # Dagster accepts a check on an asset nobody defines and then never runs it: a typo in a
    # suite's name or meta.asset_keys would silently switch the suite off.
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    materializable = {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    targets = {spec.asset_key for c in quality_checks for spec in c.check_specs}
    assert targets - materializable == set()


@pytest.mark.parametrize("table,written_by", [
    ("model_runs", "record_model_run("),  # every model asset appends its run
    ("clv_holdout_by_frequency", 'write_table(con, "clv_holdout_by_frequency"'),
])
def test_ml_tables_without_an_asset_are_checked_after_each_step_that_writes_them(table, written_by):
    from orchestration.defs.ml import ml_assets

    writers = [a for a in ml_assets if written_by in inspect.getsource(a.op.compute_fn.decorated_fn)]
    hosts = {spec.asset_key for c in quality_checks for spec in c.check_specs
             if spec.name == f"expectation_suite_{table}"}
    assert writers, f"no ML asset writes ml.{table} any more: remove or re-point its suite"
    # one blocking check per writing step (a new model asset must be added to the suite's meta.asset_keys)
    assert len(hosts) == len(writers) and all(len(set(a.keys) & hosts) == 1 for a in writers), (table, hosts)
