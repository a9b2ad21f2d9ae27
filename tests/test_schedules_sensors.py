"""Schedules, the landing-zone sensor, run-failure alerts and the single-writer pool, evaluated for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from warehouse_build import PROJECT_ROOT, QUIET

import dagster as dg
from orchestration.definitions import defs
from orchestration.defs.ops.alerts import run_failure_alert
from orchestration.defs.ops.landing_sensor import SETTLE_SECONDS, landing_zone_sensor
from orchestration.defs.serving.assets import SNAPSHOT_KEY

OLD = time.time() - 3600  # an mtime well past the settling time
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def test_daily_schedule_runs_the_whole_build_for_yesterdays_delivery_date():
    schedule = defs.resolve_schedule_def("daily_build_warehouse")
    assert schedule.job_name == "build_warehouse"
    assert schedule.cron_schedule == "0 4 * * *"
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 1, 4, tzinfo=timezone.utc),
                                        repository_def=defs.get_repository_def())
    requests = list(schedule.evaluate_tick(context).run_requests)
    assert len(requests) == 1
    # at 04:00 the previous day's folders are complete; today's (also a partition) has barely started
    assert requests[0].partition_key == "2026-10-31"
    assert requests[0].tags["dagster/partition"] == "2026-10-31"
    job = defs.resolve_job_def("build_warehouse")
    keys = set(job.asset_layer.executable_asset_keys)
    assert {dg.AssetKey(["raw", "orders"]), dg.AssetKey(["marts", "customer_rfm"]), SNAPSHOT_KEY} <= keys


def test_weekly_retrain_refits_the_ml_group_and_republishes():
    schedule = defs.resolve_schedule_def("weekly_retrain_models")
    assert schedule.job_name == "retrain_models"
    assert schedule.cron_schedule == "0 6 * * 1"
    context = dg.build_schedule_context(scheduled_execution_time=datetime.now(timezone.utc))
    assert len(list(schedule.evaluate_tick(context).run_requests)) == 1
    graph = defs.resolve_asset_graph()
    ml_keys = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "ml"}
    job_keys = set(defs.resolve_job_def("retrain_models").asset_layer.executable_asset_keys)
    assert ml_keys | {SNAPSHOT_KEY} == job_keys
    assert dg.AssetKey(["raw", "orders"]) not in job_keys


def test_the_weekly_retrain_forces_every_model_to_refit_and_the_daily_build_does_not():
    """Model assets refit daily only when stale (orchestration/defs/ml/reuse.py); retrain_models forces all."""
    graph = defs.resolve_asset_graph()
    fitting = set()
    for key in graph.get_all_asset_keys():
        if graph.get(key).group_name != "ml":
            continue
        op = defs.resolve_assets_def(key).op
        # an asset without config (ml/customer_features) has an untyped schema with no fields
        if op.config_schema and "force_retrain" in getattr(op.config_schema.config_type, "fields", {}):
            fitting.add(op.name)
    assert fitting == {"customer_segments", "ml__churn_model", "ml__clv_model", "ml__recommender_model",
                       "ml__feedback_model"}
    forced = defs.resolve_job_def("retrain_models").run_config["ops"]
    assert {op: cfg["config"]["force_retrain"] for op, cfg in forced.items()} == {op: True for op in fitting}
    assert not defs.resolve_job_def("build_warehouse").run_config


def _land(landing: Path, relative: str, mtime: float = OLD, body: str = "order_id\n1\n") -> Path:
    path = landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def _tick(cursor):
    context = dg.build_sensor_context(cursor=cursor, instance=dg.DagsterInstance.ephemeral())
    result = landing_zone_sensor(context)
    return result


def test_landing_sensor_starts_one_run_per_new_delivery(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    monkeypatch.setenv("LANDING_DIR", str(landing))
    assert isinstance(_tick(None), dg.SkipReason)

    _land(landing, "orders/2026-01-01/orders_1.csv")
    _land(landing, "customers/2026-01-01/customers_1.jsonl", body='{"customer_id": 1}\n')
    _land(landing, "orders/2026-01-01/notes.txt")  # not a landing format: the ingest ignores it, so does the sensor
    first = _tick(None)
    assert isinstance(first, dg.SensorResult)
    (request,) = first.run_requests
    assert request.tags["landing/new_files"] == "2"
    assert request.tags["landing/sources"] == "customers,orders"
    assert request.partition_key == "2026-01-01"  # the delivery date of the new files

    # nothing new: no run
    assert isinstance(_tick(first.cursor), dg.SkipReason)

    # a new day arrives: a run for that file only, with a different run key
    _land(landing, "orders/2026-01-02/orders_2.csv", mtime=OLD + 60)
    second = _tick(first.cursor)
    (request2,) = second.run_requests
    assert request2.tags["landing/new_files"] == "1" and request2.run_key != request.run_key
    assert request2.partition_key == "2026-01-02"

    # a file of the same delivery with the very same mtime but a new name is still new
    _land(landing, "orders/2026-01-02/orders_3.csv", mtime=OLD + 60)
    third = _tick(second.cursor)
    assert [r.tags["landing/new_files"] for r in third.run_requests] == ["1"]

    # a file still being written (modified just now) waits for a later tick, then is picked up
    fresh = _land(landing, "orders/2026-01-03/orders_4.csv", mtime=time.time())
    assert isinstance(_tick(third.cursor), dg.SkipReason)
    os.utime(fresh, (time.time() - SETTLE_SECONDS - 1,) * 2)
    fourth = _tick(third.cursor)
    assert [r.tags["landing/new_files"] for r in fourth.run_requests] == ["1"]


def test_landing_sensor_picks_up_a_late_file_in_an_old_folder(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    monkeypatch.setenv("LANDING_DIR", str(landing))
    for day in ("2026-01-01", "2026-01-02", "2026-01-03"):
        _land(landing, f"orders/{day}/orders.csv", mtime=OLD)
    first = _tick(None)
    # several delivery dates at once: one run over their range (a single-run backfill), not three full runs
    (request,) = first.run_requests
    assert request.partition_key is None
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("2026-01-01", "2026-01-03")

    # a file delivered late into the first day's folder: a run of that day's partition only
    _land(landing, "orders/2026-01-01/orders_late.csv", mtime=OLD + 60)
    late = _tick(first.cursor)
    (late_request,) = late.run_requests
    assert late_request.partition_key == "2026-01-01" and RANGE_START not in late_request.tags
    assert late_request.tags["landing/delivery_dates"] == "2026-01-01"

    # Dagster accepts the request for the real job: the partition exists and resolves to its tags
    job = defs.resolve_job_def("build_warehouse")
    with dg.instance_for_test() as instance:
        resolved = late_request.with_resolved_tags_and_config(job, [], instance)
    assert resolved.tags["dagster/partition"] == "2026-01-01"


def test_landing_sensor_reports_folders_that_are_not_partitions(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    monkeypatch.setenv("LANDING_DIR", str(landing))
    _land(landing, "orders/2026-13-01/orders.csv")  # not a date
    _land(landing, "orders/1999-01-01/orders.csv")  # before the first partition
    skipped = _tick(None)
    assert not skipped.run_requests
    assert "orders/1999-01-01" in skipped.skip_reason.skip_message
    # the good files of the same tick still start their run; the bad folders are logged, not requested
    _land(landing, "orders/2026-01-05/orders.csv", mtime=OLD + 60)
    _land(landing, "orders/2026-13-02/orders.csv", mtime=OLD + 60)
    (request,) = _tick(skipped.cursor).run_requests
    assert request.partition_key == "2026-01-05" and request.tags["landing/new_files"] == "1"


def test_landing_sensor_run_key_is_stable_for_the_same_files(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    monkeypatch.setenv("LANDING_DIR", str(landing))
    _land(landing, "orders/2026-01-01/orders_1.csv")
    # With the cursor lost, the same file set yields the same run key, which Dagster runs only once.
    assert _tick(None).run_requests[0].run_key == _tick(None).run_requests[0].run_key


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Hook.received
    server.shutdown()


def _failed_run():
    @dg.asset(name="load_orders")
    def broken():
        raise ValueError("landing/orders/2026-01-02/orders.csv line 7: amount is not a number")

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([broken], instance=instance, raise_on_error=False)
    assert not result.success
    return instance, result


def test_run_failure_alert_goes_to_file_and_webhook(tmp_path, monkeypatch, webhook):
    url, received = webhook
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ALERT_WEBHOOK_URL", url)
    instance, result = _failed_run()
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert", dagster_instance=instance, dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()
    run_failure_alert(context)

    lines = (tmp_path / "data" / "alerts" / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    alert = json.loads(lines[0])
    assert alert["run_id"] == result.run_id
    assert alert["failed_steps"][0]["step"] == "load_orders"
    assert "orders.csv line 7" in alert["failed_steps"][0]["error"]
    assert result.run_id in alert["run_url"] and "FAILED in load_orders" in alert["text"]
    assert received == [alert]


def test_run_failure_alert_keeps_the_file_when_the_webhook_is_down(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ALERT_WEBHOOK_URL", "http://127.0.0.1:9/nothing-listens-here")
    instance, result = _failed_run()
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert", dagster_instance=instance, dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()
    run_failure_alert(context)
    assert (tmp_path / "data" / "alerts" / "alerts.jsonl").read_text(encoding="utf-8").count("\n") == 1


_WRITER = textwrap.dedent("""
    import json, sys, time
    import dagster as dg, duckdb
    database, out = sys.argv[1], sys.argv[2]

    @dg.asset(pool="duckdb_writer")
    def writer():
        con = duckdb.connect(database)  # takes DuckDB's single-writer file lock
        started = time.time()
        con.execute("create table if not exists t (a int)")
        con.execute("insert into t values (1)")
        time.sleep(3)
        con.close()
        open(out, "w").write(json.dumps([started, time.time()]))

    result = dg.materialize([writer], instance=dg.DagsterInstance.get(), raise_on_error=False)
    sys.exit(0 if result.success else 1)
""")


def _two_concurrent_writers(tmp_path: Path, instance_yaml: Path | None):
    home = tmp_path / "dagster_home"
    home.mkdir()
    if instance_yaml:
        (home / "dagster.yaml").write_text(instance_yaml.read_text())
    env = {**os.environ, **QUIET, "DAGSTER_HOME": str(home)}
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    # create the instance's SQLite tables once, so the two runs do not race to do it
    subprocess.run([sys.executable, "-c", "import dagster; dagster.DagsterInstance.get()"], env=env, check=True)
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path / "w.duckdb"), str(tmp_path / f"{i}.json")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in (0, 1)]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    windows = [json.loads((tmp_path / f"{i}.json").read_text()) for i in (0, 1) if (tmp_path / f"{i}.json").exists()]
    return [p.returncode for p in procs], windows, outputs


@pytest.mark.slow
def test_duckdb_writer_pool_makes_concurrent_runs_queue(tmp_path):
    codes, windows, outputs = _two_concurrent_writers(tmp_path, PROJECT_ROOT / "deploy" / "dagster.yaml")
    assert codes == [0, 0], "\n".join(o[-3000:] for o in outputs)
    (a_start, a_end), (b_start, b_end) = sorted(windows)
    assert a_end <= b_start, f"the two writers overlapped: {windows}"


@pytest.mark.slow
def test_without_the_pool_limit_the_second_writer_fails_on_the_lock(tmp_path):
    # The control for the test above: the same two runs on an instance without the limit.
    codes, _, outputs = _two_concurrent_writers(tmp_path, None)
    assert sorted(codes) == [0, 1]
    assert "Could not set lock" in "".join(outputs)


def test_pool_limit_is_in_both_instance_configs():
    for name in ("dagster.yaml", "dagster.postgres.yaml"):
        import yaml

        config = yaml.safe_load((PROJECT_ROOT / "deploy" / name).read_text())
        assert config["concurrency"]["pools"]["default_limit"] == 1, name
    graph = defs.resolve_asset_graph()
    for key in (dg.AssetKey(["raw", "orders"]), dg.AssetKey(["marts", "customer_rfm"]), SNAPSHOT_KEY):
        assert graph.get(key).pools == {"duckdb_writer"}, key
