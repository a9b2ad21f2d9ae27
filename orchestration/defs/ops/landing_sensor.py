"""Start ``build_warehouse`` for the delivery dates whose folders received new files.

A new file in ``<source>/<YYYY-MM-DD>/`` requests a run of that date's partition: today's folder
as files arrive, and an old folder when a late file is dropped into it (the run reloads that
partition's folders; the ingest's ledger skips what it already has, and the incremental facts
recompute the orders delivered that day). New files in several folders at once (an outage
catching up, a bulk re-delivery) make one run over the range from the first to the last of
those dates, like a single-run backfill, instead of one full run per date.

The cursor is a watermark: the newest modification time already handed to a run, plus the
names carrying exactly that time (several files of one delivery often share it). A file
counts as new when it is newer than the watermark, or as new as it under a name not seen.
Files written into the folder (``cp``, or written next to it and renamed in) carry a fresh
modification time; tools that keep an old one (``cp -p``, ``rsync -t``, ``mv`` of a file written
long ago) need a ``touch`` after delivering, or a backfill of the date.
"""


import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from landing.contract import SOURCES
from orchestration.defs.ingest.files import discover
from orchestration.defs.ingest.partitions import why_not_a_partition
from orchestration.defs.jobs import build_warehouse_job
from orchestration.settings import Settings

# A file modified this recently may still be being written; it is picked up on a later tick.
SETTLE_SECONDS = 30
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class Seen:
    mtime_ns: int
    names: frozenset[str]

    @classmethod
    def parse(cls, cursor: str | None) -> "Seen":
        if not cursor:
            return cls(-1, frozenset())
        data = json.loads(cursor)
        return cls(int(data["mtime_ns"]), frozenset(data["names"]))

    def dump(self) -> str:
        return json.dumps({"mtime_ns": self.mtime_ns, "names": sorted(self.names)})


def landed_files(landing_dir: Path) -> list[tuple[str, int, int]]:
    """(relative path, mtime_ns, size) of every file the ingest would consider, for every source."""
    out = []
    for source in SOURCES:
        for landed in discover(landing_dir, source):
            stat = landed.path.stat()
            out.append((landed.relative_path, stat.st_mtime_ns, stat.st_size))
    return out


def new_files(files, seen: Seen, now_ns: int, settle_seconds: float = SETTLE_SECONDS):
    """Files newer than the cursor that have stopped changing, and the cursor after them."""
    settled_before = now_ns - int(settle_seconds * 1e9)
    fresh = [f for f in files if f[1] <= settled_before and
             (f[1] > seen.mtime_ns or (f[1] == seen.mtime_ns and f[0] not in seen.names))]
    if not fresh:
        return [], seen
    top = max(f[1] for f in fresh)
    names = {f[0] for f in fresh if f[1] == top}
    if top == seen.mtime_ns:
        names |= seen.names
    return sorted(fresh), Seen(top, frozenset(names))


def run_key_for(fresh) -> str:
    # The same set of files never starts two runs, even if the cursor were reset.
    digest = hashlib.sha256("\n".join(f"{p}:{m}:{s}" for p, m, s in fresh).encode()).hexdigest()
    return f"landing-{digest[:20]}"


def delivery_date_of(relative_path: str) -> str:
    return relative_path.split("/")[1]


def partition_tags(dates: list[str]) -> tuple[str | None, dict[str, str]]:
    """(partition_key, tags) of a run over ``dates``: one partition, or the range first..last in one run."""
    first, last = min(dates), max(dates)
    if first == last:
        return first, {}
    return None, {RANGE_START_TAG: first, RANGE_END_TAG: last}


@dg.sensor(
    name="landing_zone_sensor",
    job=build_warehouse_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts build_warehouse for the delivery date of new files under $LANDING_DIR/<source>/<YYYY-MM-DD>/ "
                "(late files in an old folder too; several dates: one run over their range). Files must be "
                f"unchanged for {SETTLE_SECONDS}s first. Runs queue behind each other.",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext):
    landing_dir = Settings.from_env().landing_dir
    fresh, cursor = new_files(landed_files(landing_dir), Seen.parse(context.cursor), time.time_ns())
    if not fresh:
        return dg.SkipReason(f"no new files in {landing_dir}")
    problems = {folder: why for folder in sorted({p.rsplit("/", 1)[0] for p, _, _ in fresh})
                if (why := why_not_a_partition(folder.split("/")[1]))}
    for folder, why in problems.items():
        context.log.warning(f"{landing_dir}/{folder} {why}; its files are not loaded")
    loadable = [f for f in fresh if f[0].rsplit("/", 1)[0] not in problems]
    if not loadable:
        return dg.SensorResult(skip_reason=dg.SkipReason(
            f"new files only in folders that are not delivery dates: {', '.join(problems)}"), cursor=cursor.dump())
    dates = sorted({delivery_date_of(p) for p, _, _ in loadable})
    sources = sorted({p.split("/", 1)[0] for p, _, _ in loadable})
    partition_key, range_tags = partition_tags(dates)
    context.log.info(f"{len(loadable)} new file(s) for {', '.join(sources)} in delivery date(s) "
                     f"{', '.join(dates)}; starting build_warehouse for {dates[0]}"
                     + (f" to {dates[-1]}" if len(dates) > 1 else ""))
    return dg.SensorResult(
        run_requests=[dg.RunRequest(
            run_key=run_key_for(loadable),
            partition_key=partition_key,
            tags={"trigger": "landing_zone_sensor", "landing/new_files": str(len(loadable)),
                  "landing/sources": ",".join(sources), "landing/delivery_dates": ",".join(dates) if len(dates) <= 5
                  else f"{len(dates)} dates from {dates[0]} to {dates[-1]}",
                  **range_tags},
        )],
        cursor=cursor.dump(),
    )
