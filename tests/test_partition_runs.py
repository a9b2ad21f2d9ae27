"""Partition runs of the real build: a late file picked up by the sensor's partition run, and re-runs.

Starts from a copy of the session's demo warehouse (400 customers, 90 delivery days, built by one
single-run backfill through the real CLI). A late file is dropped into an old delivery folder; the
real landing sensor asks for that date's partition; the real CLI runs ``build_warehouse`` for it.
Then partitions are re-run through Dagster's own CLI (``dagster asset materialize --partition`` /
``--partition-range``) and every table must stay exactly as it was.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from test_incremental import build_facts, digests
from warehouse_build import PROJECT_ROOT, run_build, warehouse_env, warehouse_state

import dagster as dg
from landing.contract import SOURCES

pytestmark = pytest.mark.slow

HOUR_AGO = time.time() - 3600


def _write_csv(path: Path, source: str, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=SOURCES[source].column_names)
        writer.writeheader()
        writer.writerows(rows)


def _tick(landing: Path, cursor: str | None):
    from orchestration.defs.ops.landing_sensor import landing_zone_sensor

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LANDING_DIR", str(landing))
        return landing_zone_sensor(dg.build_sensor_context(cursor=cursor, instance=dg.DagsterInstance.ephemeral()))


def _materializations(instance: dg.DagsterInstance, run_id: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        m = event.dagster_event.event_specific_data.materialization
        out.setdefault(m.asset_key.to_user_string(), []).append(m)
    return out


@pytest.fixture(scope="module")
def late_file_run(built_warehouse, tmp_path_factory) -> dict:
    data_dir = tmp_path_factory.mktemp("partition_runs") / "data"
    shutil.copytree(built_warehouse.data_dir, data_dir)
    landing = data_dir / "landing"
    for path in landing.rglob("*"):
        os.utime(path, (HOUR_AGO, HOUR_AGO))  # long settled, and what the sensor has already handed out
    days = sorted({d.name for d in (landing / "orders").iterdir()})
    caught_up = _tick(landing, None)
    (everything,) = caught_up.run_requests  # a fresh cursor sees all 90 days: one run over their range
    assert (everything.tags["dagster/asset_partition_range_start"],
            everything.tags["dagster/asset_partition_range_end"]) == (days[0], days[-1])

    # A late file for an old delivery date: a new order and its line, for a known customer and product.
    old_day = days[len(days) // 2]
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        customer = con.execute("select min(customer_id) from raw.orders").fetchone()[0]
        product = con.execute("select min(product_id) from marts.fct_order_items").fetchone()[0]
    at = f"{old_day} 10:00:00"
    _write_csv(landing / "orders" / old_day / "orders_late.csv", "orders", [
        {"order_id": "OLATE000001", "customer_id": customer, "ordered_at": at, "channel": "web", "status": "completed",
         "subtotal_amount": "30.00", "discount_amount": "0.00", "shipping_amount": "4.90", "total_amount": "34.90",
         "updated_at": at}])
    _write_csv(landing / "order_items" / old_day / "order_items_late.csv", "order_items", [
        {"order_id": "OLATE000001", "line_number": 1, "product_id": product, "quantity": 2, "unit_price": "15.00",
         "ordered_at": at}])
    for late in landing.glob(f"*/{old_day}/*_late.csv"):
        os.utime(late, (time.time() - 120,) * 2)  # delivered two minutes ago, settled

    tick = _tick(landing, caught_up.cursor)
    (request,) = tick.run_requests
    # what the daemon would launch: build_warehouse for that day's partition, then run it for real
    proc = run_build(data_dir, "--from", request.partition_key, "--to", request.partition_key)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        run = instance.get_run_records(limit=1)[0].dagster_run
        materialized = _materializations(instance, run.run_id)
    return {"data_dir": data_dir, "days": days, "old_day": old_day, "request": request, "output": output,
            "run": run, "materialized": materialized}


def test_sensor_asks_for_the_late_files_partition_and_its_run_loads_them(late_file_run):
    r = late_file_run
    old_day = r["old_day"]
    assert r["request"].partition_key == old_day
    assert r["request"].tags["landing/new_files"] == "2"
    assert f"build_warehouse: delivery date(s) {old_day} (1 daily partition(s), one run)" in r["output"]
    assert r["run"].tags["dagster/partition"] == old_day
    db = r["data_dir"] / "warehouse.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select _source_file from raw.orders where order_id = 'OLATE000001'").fetchall() == [
            (f"orders/{old_day}/orders_late.csv",)]
        assert con.execute("select line_count, status from marts.fct_orders where order_id = 'OLATE000001'"
                           ).fetchall() == [(1, "completed")]
        assert con.execute("select count(*) from marts.fct_order_items where order_id = 'OLATE000001'"
                           ).fetchone()[0] == 1


def test_the_partition_run_looks_only_into_that_days_folders(late_file_run):
    r = late_file_run
    old_day, landing = r["old_day"], r["data_dir"] / "landing"
    # Its cost follows the day's files, not the history: each partitioned source opened one folder.
    for source in ("orders", "order_items", "web_events"):
        [m] = r["materialized"][f"raw/{source}"]
        assert m.partition == old_day
        meta = {k: getattr(v, "value", v) for k, v in m.metadata.items()}
        in_folder = len(list((landing / source / old_day).iterdir()))
        new = 1 if source in ("orders", "order_items") else 0
        assert (meta["files_new"], meta["files_unchanged_skipped"]) == (new, in_folder - new), source
        assert meta["delivery_dates"] == old_day
    # the incremental facts got that day as their dbt window
    assert f'"delivery_date_from": "{old_day}", "delivery_date_to": "{old_day}"' in r["output"]
    assert [m.partition for m in r["materialized"]["marts/fct_orders"]] == [old_day]
    # the unpartitioned sources and marts are rebuilt as always
    assert [m.partition for m in r["materialized"]["raw/customers"]] == [None]
    assert [m.partition for m in r["materialized"]["marts/customer_rfm"]] == [None]


def _suite_checks(data_dir: Path, run_id: str) -> dict[str, dict]:
    """Asset -> metadata of its expectation-suite check in the run."""
    out = {}
    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            evaluation = event.dagster_event.event_specific_data
            if evaluation.check_name == "expectation_suite":
                out[evaluation.asset_key.to_user_string()] = {k: getattr(v, "value", v)
                                                              for k, v in evaluation.metadata.items()}
    return out


def test_the_partition_runs_suites_validate_the_rows_it_wrote_and_keep_table_totals(late_file_run):
    r = late_file_run
    checks = _suite_checks(r["data_dir"], r["run"].run_id)
    # the late order file is the run's only new raw load: its one row is what the row conditions read
    orders = checks["raw/orders"]
    assert orders["rows_checked_scope"] == f"rows of load batch {r['run'].run_id[:8]}-orders"
    assert (orders["rows_checked"], orders["expectations_failed"]) == (1, 0)
    assert orders["row_count"] > 1000, "table-level expectations still see the whole table"
    # nothing new landed for the clickstream: its newest load, the backfill's, is validated again
    events = checks["raw/web_events"]
    assert events["rows_checked_scope"].startswith("rows of load batch") and events["rows_checked"] > 1000
    # the incremental fact: the rows this run's dbt build wrote (the day's orders), not the table
    facts = checks["marts/fct_orders"]
    assert facts["rows_checked_scope"].startswith("rows built at")
    assert 1 <= facts["rows_checked"] < facts["row_count"]
    # a table without load or build stamps is validated whole in every run
    customers = checks["marts/dim_customers"]
    assert customers["rows_checked_scope"] == "every row" and customers["rows_checked"] == customers["row_count"]


def test_incremental_facts_after_the_late_file_equal_a_full_refresh(late_file_run, tmp_path):
    db = late_file_run["data_dir"] / "warehouse.duckdb"
    twin = tmp_path / "twin" / "warehouse.duckdb"
    twin.parent.mkdir()
    shutil.copy2(db, twin)
    build_facts(twin, "--full-refresh")
    assert digests(db) == digests(twin)


def _materialize_partitions(data_dir: Path, *partition_args: str) -> str:
    """Dagster's CLI: the partitioned assets (event sources and incremental facts) for a day or a range."""
    venv_bin = Path(sys.executable).parent
    env = {**warehouse_env(data_dir), "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([str(venv_bin / "dagster"), "asset", "materialize", "-m", "orchestration.definitions",
                           "--select", "tag:partitions=delivery_date", *partition_args],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    return output


def test_rerunning_a_partition_or_a_range_gives_the_same_tables(late_file_run):
    data_dir, days, old_day = late_file_run["data_dir"], late_file_run["days"], late_file_run["old_day"]
    db = data_dir / "warehouse.duckdb"
    # every raw table (load metadata included) and the key marts by content, every other table by row count
    before = warehouse_state(db, with_run_columns=True)
    with duckdb.connect(str(db), read_only=True) as con:
        facts_before = con.execute("select count(*) from marts.fct_orders").fetchone()[0]

    _materialize_partitions(data_dir, "--partition", old_day)
    assert warehouse_state(db, with_run_columns=True) == before

    window = (days[len(days) // 2 - 3], days[len(days) // 2 + 3])
    output = _materialize_partitions(data_dir, "--partition-range", f"{window[0]}...{window[1]}")
    assert json.dumps({"delivery_date_from": window[0], "delivery_date_to": window[1]}) in output
    assert warehouse_state(db, with_run_columns=True) == before
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_orders").fetchone()[0] == facts_before

    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        ranged = instance.get_run_records(limit=1)[0].dagster_run
        # the range was one run, and Dagster recorded every partition of it
        assert (ranged.tags["dagster/asset_partition_range_start"],
                ranged.tags["dagster/asset_partition_range_end"]) == window
        recorded = [m.partition for m in _materializations(instance, ranged.run_id)["raw/orders"]]
        assert sorted(recorded) == [d for d in days if window[0] <= d <= window[1]]
