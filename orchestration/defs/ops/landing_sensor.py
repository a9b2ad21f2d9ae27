"""Start ``build_warehouse`` when new files land.
The cursor is a watermark: the newest modification time already handed to a run, plus the
names carrying exactly that time (several files of one delivery often share it). A file
counts as new when it is newer than the watermark, or as new as it under a name not seen.
Delivery tools must therefore give files their arrival time (``mv``/``cp`` do; ``cp -p`` or
``rsync -t`` keep an old one: touch such files after copying).
"""


import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from landing.contract import SOURCES
from orchestration.defs.ingest.files import discover
from orchestration.defs.jobs import build_warehouse_job
from orchestration.settings import Settings

# A file modified this recently may still be being written; it is picked up on a later tick.
SETTLE_SECONDS = 30


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


@dg.sensor(
    name="landing_zone_sensor",
    job=build_warehouse_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts build_warehouse when new files appear under $LANDING_DIR/<source>/<YYYY-MM-DD>/ "
                f"(files must be unchanged for {SETTLE_SECONDS}s first). Runs queue behind each other.",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext):
    landing_dir = Settings.from_env().landing_dir
    fresh, cursor = new_files(landed_files(landing_dir), Seen.parse(context.cursor), time.time_ns())
    if not fresh:
        return dg.SkipReason(f"no new files in {landing_dir}")
    sources = sorted({p.split("/", 1)[0] for p, _, _ in fresh})
    context.log.info(f"{len(fresh)} new file(s) for {', '.join(sources)}; starting build_warehouse")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(
            run_key=run_key_for(fresh),
            tags={"trigger": "landing_zone_sensor", "landing/new_files": str(len(fresh)),
                  "landing/sources": ",".join(sources)},
        )],
        cursor=cursor.dump(),
    )
