"""A run killed with kill -9 neither wedges the single-writer pool nor leaves the warehouse half-built."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from warehouse_build import PROJECT_ROOT, QUIET

import dagster as dg
from orchestration.defs.ops.stale_runs import PID_TAG, reap_dead_runs

_HOLDER = textwrap.dedent("""
    import sys, time
    import dagster as dg
    from orchestration.defs.ops.stale_runs import reap_dead_runs, this_process_tags
    marker, hold = sys.argv[1], float(sys.argv[2])
    reap = len(sys.argv) > 3

    @dg.asset(pool="duckdb_writer")
    def writer():
        open(marker, "w").write("claimed")
        time.sleep(hold)

    instance = dg.DagsterInstance.get()
    if reap:
        reap_dead_runs(instance)  # what `python -m orchestration build` does first
    result = dg.materialize([writer], instance=instance, tags=this_process_tags(), raise_on_error=False)
    sys.exit(0 if result.success else 1)
""")


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()[0]
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.2)


@pytest.mark.slow
def test_killed_run_frees_its_pool_slot_for_the_next_run(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "deploy" / "dagster.yaml").read_text())
    env = {**os.environ, **QUIET, "DAGSTER_HOME": str(home), "PYTHONPATH": str(PROJECT_ROOT)}
    script = tmp_path / "holder.py"
    script.write_text(_HOLDER)
    subprocess.run([sys.executable, "-c", "import dagster; dagster.DagsterInstance.get()"], env=env, check=True)

    def start(name: str, hold: float, *extra: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, str(script), str(tmp_path / name), str(hold), *extra], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    victim = start("victim", 600)
    _wait_for(tmp_path / "victim", victim)
    victim.kill()  # SIGKILL: no chance to release anything
    victim.wait()

    instance = dg.DagsterInstance.from_config(str(home))
    [record] = instance.get_run_records()
    assert record.dagster_run.status == dg.DagsterRunStatus.STARTED
    assert record.dagster_run.tags[PID_TAG] == str(victim.pid)
    assert instance.event_log_storage.get_concurrency_info("duckdb_writer").claimed_slots, "the dead run holds the slot"

    # The known problem: without clean-up, the next writer waits for the slot forever.
    blocked = start("blocked", 0)
    time.sleep(20)
    assert not (tmp_path / "blocked").exists() and blocked.poll() is None
    blocked.kill()
    blocked.wait()

    # The fix: the next build (the CLI reaps before launching) fails the dead run and frees its slot.
    follower = start("follower", 0, "--reap")
    out = follower.communicate(timeout=180)[0]
    assert follower.returncode == 0, out[-3000:]
    assert (tmp_path / "follower").exists()
    runs = {r.dagster_run.run_id: r.dagster_run.status for r in instance.get_run_records()}
    assert runs[record.dagster_run.run_id] == dg.DagsterRunStatus.FAILURE
    assert sorted(runs.values(), key=str).count(dg.DagsterRunStatus.SUCCESS) == 1
    assert not instance.event_log_storage.get_concurrency_info("duckdb_writer").claimed_slots
    # nothing left to do on a second pass
    reaped = reap_dead_runs(instance, log=lambda *_: None)
    assert reaped.failed_runs == [] and reaped.freed_runs == []


def test_run_monitoring_is_on_for_daemon_launched_runs():
    import yaml

    for name in ("dagster.yaml", "dagster.postgres.yaml"):
        config = yaml.safe_load((PROJECT_ROOT / "deploy" / name).read_text())
        monitoring = config["run_monitoring"]
        assert monitoring["enabled"] is True
        assert monitoring["free_slots_after_run_end_seconds"] > 0


# ---------------------------------------------------------------- kill -9 of the real build

import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402

import duckdb  # noqa: E402
from warehouse_build import DEMO_CUSTOMERS, DEMO_DAYS, run_build, warehouse_env, warehouse_state  # noqa: E402

MODEL_HISTORY = "ml.model_runs"

# Where to pull the plug, recognised in the build's console output.
KILL_POINTS = {
    # the first source is committed, the others are not loaded yet
    "ingest": re.compile(r"raw__\w+ - \w+: \d+/\d+ files loaded"),
    # the main dbt step has created the incremental facts and is building the rest
    "dbt": re.compile(r"OK created sql incremental model marts\.fct_orders"),
    # a model is being fitted
    "ml": re.compile(r" - ml__\w+ - "),
}


def _crash_build_at(data_dir: Path, point: str) -> str:
    env = {**warehouse_env(data_dir), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestration", "build", "--customers", str(DEMO_CUSTOMERS), "--days", str(DEMO_DAYS)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if KILL_POINTS[point].search(line):
                # kill -9 the run and everything it started (dbt), as a lost machine or the OOM killer would
                os.killpg(proc.pid, signal.SIGKILL)
                break
        else:
            pytest.fail(f"the build ended before reaching the {point} kill point:\n{''.join(seen)[-3000:]}")
    finally:
        proc.wait(timeout=60)
        proc.stdout.close()
    return "".join(seen)


@pytest.fixture(scope="module")
def clean_state(built_warehouse) -> dict:
    return warehouse_state(built_warehouse.database)


@pytest.mark.slow
@pytest.mark.parametrize("point", ["ingest", "dbt", "ml"])
def test_build_killed_mid_run_is_completed_by_the_next_run(point, built_warehouse, clean_state, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(built_warehouse.landing_dir, data_dir / "landing")
    home = data_dir / "dagster_home"
    home.mkdir()
    # the production instance config: a duckdb_writer pool of 1, so a leaked slot would block the next run
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "deploy" / "dagster.yaml").read_text())

    _crash_build_at(data_dir, point)
    instance = dg.DagsterInstance.from_config(str(home))
    [dead] = instance.get_run_records()
    assert dead.dagster_run.status == dg.DagsterRunStatus.STARTED  # nobody told Dagster it died

    rerun = run_build(data_dir)
    output = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0, output[-5000:]
    assert "marked it failed" in output
    assert instance.get_run_record_by_id(dead.dagster_run.run_id).dagster_run.status == dg.DagsterRunStatus.FAILURE

    state = warehouse_state(data_dir / "warehouse.duckdb")
    assert state.keys() == clean_state.keys()
    # ml.model_runs is the training history, appended to by every model step that fits: a model that
    # finished before the kill keeps its row (it did train), so it is checked on its own below.
    different = {k: (state[k], clean_state[k]) for k in state if state[k] != clean_state[k] and k != MODEL_HISTORY}
    assert not different, f"after a kill -9 during {point} and a re-run, tables differ from a clean build: {different}"
    [completed] = [r for r in instance.get_run_records() if r.dagster_run.status == dg.DagsterRunStatus.SUCCESS]
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        trainings = con.execute(f"select model, count(*), count(*) filter (where dagster_run_id = ?) "
                                f"from {MODEL_HISTORY} group by 1", [dead.dagster_run.run_id]).fetchall()
    # A model the killed run had finished fitting is handed on by the re-run, not fitted again
    # (orchestration/defs/ml/reuse.py): every model was trained exactly once, some by the killed run
    # when the kill came during ML, the rest by the re-run.
    models = clean_state[MODEL_HISTORY][0]
    assert len(trainings) == models and all(n == 1 for _, n, _ in trainings), trainings
    killed = sum(n for _, _, n in trainings)
    assert killed < models and (killed == 0 or point == "ml"), trainings
