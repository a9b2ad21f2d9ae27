"""A failing blocking suite stops what is downstream of it: a dbt model and a Python asset.

Real Dagster materialisations on a throwaway Definitions, a real (tiny) dbt project
in tmp_path and the real runner and check factory, against a real DuckDB file.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_dbt import DbtCliResource, dbt_assets
from dagster_duckdb import DuckDBResource

from orchestration.defs.quality.checks import build_suite_check
from orchestration.defs.quality.suites import load_suite

DBT = shutil.which("dbt") or str(Path(sys.executable).parent / "dbt")


def _dbt_project(root: Path, database: Path) -> Path:
    project = root / "dbt_tiny"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1.0'\nconfig-version: 2\nprofile: tiny\nmodel-paths: ['models']\n")
    (project / "profiles.yml").write_text(
        f"tiny:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: '{database}'\n"
        "      schema: marts\n")
    (project / "models" / "sources.yml").write_text(
        "version: 2\nsources:\n  - name: raw\n    schema: raw\n    tables:\n      - name: things\n")
    (project / "models" / "thing_totals.sql").write_text(
        "select kind, sum(amount) as amount from {{ source('raw', 'things') }} group by kind\n")
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    subprocess.run([DBT, "parse", "--project-dir", str(project), "--profiles-dir", str(project)],
                   check=True, env=env, capture_output=True, cwd=project)
    return project


def _definitions(tmp_path: Path, amounts: list[float]) -> tuple[dg.Definitions, Path]:
    database = tmp_path / "wh.duckdb"
    suite_file = tmp_path / "raw.things.json"
    suite_file.write_text(json.dumps({"name": "raw.things", "expectations": [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "amount", "min_value": 0}},
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "kind", "regex": "^[a-z]+$"}},
    ]}))
    project = _dbt_project(tmp_path, database)

    @dg.asset(key=["raw", "things"])
    def things(warehouse: DuckDBResource) -> None:
        with warehouse.get_connection() as con:
            con.execute("create schema if not exists raw")
            con.execute("create or replace table raw.things (kind varchar, amount double)")
            con.executemany("insert into raw.things values (?, ?)", [("a", x) for x in amounts])

    @dg.asset(deps=[things])
    def python_report(warehouse: DuckDBResource) -> None:
        with warehouse.get_connection() as con:
            con.execute("create or replace table main.report as select sum(amount) as s from raw.things")

    @dbt_assets(manifest=project / "target" / "manifest.json")
    def tiny_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        yield from dbt.cli(["build"], context=context).stream()

    defs = dg.Definitions(
        assets=[things, python_report, tiny_dbt],
        asset_checks=[build_suite_check(load_suite(suite_file))],
        resources={"warehouse": DuckDBResource(database=str(database)),
                   "dbt": DbtCliResource(project_dir=str(project), profiles_dir=str(project), dbt_executable=DBT)},
        executor=dg.in_process_executor,
    )
    return defs, database


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))  # Data Docs go to the test's folder


def test_failing_blocking_suite_stops_downstream_dbt_and_python_assets(tmp_path):
    defs, database = _definitions(tmp_path, amounts=[5.0, -3.0])  # a negative amount breaks the suite
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(raise_on_error=False)

    assert not result.success
    assert _materialized(result) == {"raw/things"}, "nothing downstream of the failed check was built"
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed is False and evaluation.metadata["expectations_failed"].value == 1
    with duckdb.connect(str(database), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        history = con.execute("select expectation, success, observed_value from quality.validation_results "
                              "order by expectation").fetchall()
    assert "thing_totals" not in tables and "report" not in tables
    assert history == [("expect_column_values_to_be_between(amount)", False, "1"),
                       ("expect_column_values_to_match_regex(kind)", True, "0.0")]
    # the check rendered its result's page; the index is rendered once after the run (data_docs.refresh_index)
    pages = list((tmp_path / "data" / "quality" / "data_docs" / "validations").rglob("*.html"))
    assert [p.parent.parent.name for p in pages] == [result.run_id]
    assert evaluation.metadata["data_docs"].value == str(pages[0]), "the check links its own result's page"


def test_passing_suite_lets_downstream_dbt_and_python_assets_build(tmp_path):
    defs, _ = _definitions(tmp_path, amounts=[5.0, 3.0])
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process()
    assert _materialized(result) == {"raw/things", "python_report", "thing_totals"}
