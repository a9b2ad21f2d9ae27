"""Which delivery dates a ``python -m orchestration build`` runs, when not told.

A build is one run of ``build_warehouse`` over a range of daily partitions (a single-run backfill).
Without ``--from/--to`` the range covers every delivery date that needs loading:

* dates with a file the warehouse has not loaded: not in the ingest ledger (``quality.ingest_files``)
  or of another size than it had when loaded: a fresh landing zone, a new day, a late file in an old
  folder, a re-delivered file. (A file rewritten with the same size is found by the landing sensor,
  which watches modification times, or by re-running its date: the ingest compares content hashes.)
* dates whose partitions Dagster has no materialization for (a new ``DAGSTER_HOME``, a run that
  died), so the UI's partition status catches up with the warehouse.

Nothing to do: the latest delivery date, re-run (a no-op for its files, and the unpartitioned
sources' new files are still loaded). The range is contiguous (a run has one range), so dates in
between that need nothing are passed over by the ingest's ledger and only recomputed by the
incremental facts.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.defs.ingest.files import discover
from orchestration.defs.ingest.partitions import (
    PARTITIONED_SOURCES,
    DeliveryFolderError,
    check_delivery_folders,
    delivery_date_partitions,
    delivery_dates,
    why_not_a_partition,
)

LOCK_WAIT_SECONDS = 5


@dataclass(frozen=True)
class BuildPlan:
    first: str
    last: str
    reason: str

    @property
    def partition_keys(self) -> list[str]:
        return delivery_date_partitions.get_partition_keys_in_range(dg.PartitionKeyRange(self.first, self.last))

    def describe(self) -> str:
        span = self.first if self.first == self.last else f"{self.first} to {self.last}"
        return f"delivery date(s) {span} ({len(self.partition_keys)} daily partition(s), one run): {self.reason}"


def _ledger(database: Path, log=print) -> dict[str, int]:
    """{relative path: bytes} of every file the warehouse has loaded."""
    if not database.exists():
        return {}
    waited = False
    while True:
        try:
            con = duckdb.connect(str(database), read_only=True)
            break
        except duckdb.IOException as err:
            if "lock" not in str(err).lower():
                raise
            if not waited:
                log(f"{database} is being written by another run; waiting for it to finish...")
                waited = True
            time.sleep(LOCK_WAIT_SECONDS)
    try:
        has_ledger = con.execute("select count(*) from information_schema.tables "
                                 "where table_schema = 'quality' and table_name = 'ingest_files'").fetchone()[0]
        if not has_ledger:
            return {}
        rows = con.execute("select source_file, file_bytes from quality.ingest_files "
                           "where status = 'loaded'").fetchall()
    finally:
        con.close()
    return dict(rows)


def unloaded_dates(landing_dir: Path, database: Path, log=print) -> list[str]:
    """Delivery dates of the partitioned sources with a file not loaded as it is now."""
    ledger = _ledger(database, log)
    dates = set()
    for source in PARTITIONED_SOURCES:
        for landed in discover(landing_dir, source):
            if ledger.get(landed.relative_path) != landed.size_bytes:
                dates.add(landed.delivery_date)
    return sorted(dates)


def unmaterialized_dates(instance: dg.DagsterInstance, asset_keys: Iterable[dg.AssetKey],
                         present: list[str]) -> list[str]:
    """Delivery dates present in the landing zone that some partitioned asset has no materialization for."""
    missing = set()
    for key in asset_keys:
        missing |= set(present) - instance.get_materialized_partitions(key)
    return sorted(missing)


def _checked(day: str, flag: str) -> str:
    why = why_not_a_partition(day)
    if why:
        raise DeliveryFolderError(f"{flag} {day} {why}")
    return day


def plan_build(landing_dir: Path, database: Path, instance: dg.DagsterInstance,
               partitioned_keys: Iterable[dg.AssetKey], date_from: str | None = None, date_to: str | None = None,
               full_refresh: bool = False, log=print) -> BuildPlan:
    check_delivery_folders(landing_dir)
    if date_from or date_to:
        if not date_from:
            raise DeliveryFolderError("--to needs --from: give the first delivery date of the range too")
        first, last = _checked(date_from, "--from"), _checked(date_to or date_from, "--to")
        if last < first:
            raise DeliveryFolderError(f"--to {last} is before --from {first}: swap them")
        return BuildPlan(first, last, "the range asked for")
    present = delivery_dates(landing_dir)
    if not present:
        today = delivery_date_partitions.get_last_partition_key()
        return BuildPlan(today, today, f"no delivery folder of {', '.join(PARTITIONED_SOURCES)} yet: "
                                       "today's partition, for the other sources")
    if full_refresh:
        return BuildPlan(present[0], present[-1], "full refresh: every delivery date present")
    unloaded = unloaded_dates(landing_dir, database, log)
    missing = unmaterialized_dates(instance, partitioned_keys, present)
    todo = sorted(set(unloaded) | set(missing))
    if not todo:
        return BuildPlan(present[-1], present[-1], "every file is loaded and every partition materialized: "
                                                   "the latest delivery date again (loads nothing twice)")
    reasons = []
    if unloaded:
        reasons.append(f"{len(unloaded)} date(s) with files not loaded yet")
    if missing:
        reasons.append(f"{len(missing)} date(s) without a materialization in Dagster's run history")
    return BuildPlan(todo[0], todo[-1], "; ".join(reasons))
