"""Runs whose process died (kill -9, OOM killer, a lost machine) and the pool slots they hold.

A run that dies without a chance to clean up stays STARTED in run storage and keeps the
``duckdb_writer`` slot it claimed, so with a pool limit of 1 every later run waits forever.

* Runs started by ``python -m orchestration build`` carry the tags ``orchestration/pid`` and
  ``orchestration/host``. Before each build the CLI calls :func:`reap_dead_runs`: a run of this
  host whose process is gone is reported failed and its concurrency slots are freed.
* Runs launched by the daemon (schedules, sensors, the UI) are watched by Dagster's run
  monitoring (``run_monitoring`` in ``deploy/dagster.yaml``), which fails runs whose worker died
  and frees the slots of finished runs (``free_slots_after_run_end_seconds``).
* In both cases a slot still held by a run that has already finished (failed, succeeded or was
  cancelled) is freed here too.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import dagster as dg
from dagster._core.storage.dagster_run import FINISHED_STATUSES, NOT_FINISHED_STATUSES

PID_TAG = "orchestration/pid"
HOST_TAG = "orchestration/host"
START_TAG = "orchestration/process_start"


def _process_start_ticks(pid: int) -> str | None:
    """The kernel's start time of a process (clock ticks since boot), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            stat = fh.read()
    except OSError:
        return None
    # the command name (field 2) may contain spaces: fields after it follow the last ')'
    return stat.rsplit(")", 1)[1].split()[19]


def this_process_tags() -> dict[str, str]:
    pid = os.getpid()
    return {PID_TAG: str(pid), HOST_TAG: socket.gethostname(), START_TAG: _process_start_ticks(pid) or ""}


def process_is_alive(tags: dict[str, str]) -> bool | None:
    """True/False for runs started on this host by the CLI; None when we cannot tell."""
    if tags.get(HOST_TAG) != socket.gethostname() or not tags.get(PID_TAG):
        return None
    pid = int(tags[PID_TAG])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    started = _process_start_ticks(pid)
    if started is None:
        return False
    return not tags.get(START_TAG) or started == tags[START_TAG]


@dataclass
class Reaped:
    failed_runs: list[str]
    freed_runs: list[str]


def reap_dead_runs(instance: dg.DagsterInstance, log=print) -> Reaped:
    """Mark this host's CLI runs whose process is gone as failed; free slots of finished runs."""
    failed: list[str] = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=list(NOT_FINISHED_STATUSES))):
        run = record.dagster_run
        if process_is_alive(run.tags) is False:
            instance.report_run_failed(
                run, f"Run worker process {run.tags[PID_TAG]} on {run.tags[HOST_TAG]} is gone "
                     "(killed or crashed); marked failed so its pool slots are freed. Re-run to complete it.")
            failed.append(run.run_id)
            log(f"Run {run.run_id} died without finishing (process {run.tags[PID_TAG]} is gone): marked it failed.")
    freed: list[str] = []
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        holding = storage.get_concurrency_run_ids()
        if holding:
            finished = {r.dagster_run.run_id for r in instance.get_run_records(
                dg.RunsFilter(run_ids=list(holding), statuses=list(FINISHED_STATUSES)))}
            # a run id with slots but no run record at all (deleted run) is finished too
            known = {r.dagster_run.run_id for r in instance.get_run_records(dg.RunsFilter(run_ids=list(holding)))}
            for run_id in sorted(finished | (set(holding) - known)):
                storage.free_concurrency_slots_for_run(run_id)
                freed.append(run_id)
                log(f"Freed the concurrency slots still held by finished run {run_id}.")
    return Reaped(failed, freed)
