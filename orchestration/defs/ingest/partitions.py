"""Daily partitions on the delivery date: one partition = the ``<source>/<YYYY-MM-DD>/`` folders of one day.

Only the event-like sources are partitioned: their files are new facts of the day they arrived, and
loading a day touches only that day's folders. The dimension-like sources (customers, products,
social_mentions, privacy_requests) stay unpartitioned: every downstream model reads them whole
(latest version of each customer or product, identity resolution over all social handles, every
erasure request ever filed), their files are small, and an erasure request must apply at the next
run whatever day is being (re)loaded. Their ingest loads every new file in every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg

from orchestration.settings import Settings

from .files import discover

PARTITIONED_SOURCES = ("orders", "order_items", "web_events", "support_tickets", "survey_responses",
                       "campaign_events")

# end_offset=1: today's folder is a partition too, so files delivered today are loaded (by the
# sensor) the day they land; the daily schedule loads yesterday's, which is complete by then.
delivery_date_partitions = dg.DailyPartitionsDefinition(
    start_date=Settings.from_env().partitions_start_date, end_offset=1, timezone="UTC")

# Tag on every partitioned asset, so the CLI can select them: `--select tag:partitions=delivery_date`.
PARTITIONED_TAG = {"partitions": "delivery_date"}

# A backfill of many days is one run that loads all their folders at once (and one dbt invocation),
# not one run per day repeating every unpartitioned step downstream.
SINGLE_RUN = dg.BackfillPolicy.single_run()


def _is_date(text: str) -> bool:
    try:
        return date.fromisoformat(text).isoformat() == text
    except ValueError:
        return False


@dataclass(frozen=True)
class Window:
    """Inclusive range of delivery dates (YYYY-MM-DD) a run processes."""

    first: str
    last: str

    def __contains__(self, day: str) -> bool:
        # a folder that is not a date is in no window (a string like "2026-10-3" would sort inside one)
        return _is_date(day) and self.first <= day <= self.last

    @classmethod
    def of(cls, context: dg.AssetExecutionContext) -> "Window":
        keys = context.partition_key_range  # one key, or the range of a single-run backfill
        return cls(keys.start, keys.end)


def delivery_dates(landing_dir: Path, sources=PARTITIONED_SOURCES) -> list[str]:
    """Every delivery folder of the given sources, sorted (one entry per date)."""
    return sorted({f.delivery_date for source in sources for f in discover(landing_dir, source)})


class DeliveryFolderError(ValueError):
    """A delivery folder that cannot be a partition: it would never be loaded."""


def why_not_a_partition(folder: str, partitions=delivery_date_partitions) -> str | None:
    """None when the delivery folder name is a partition key, else what is wrong and the fix."""
    if not _is_date(folder):
        return "is not a delivery date (YYYY-MM-DD): move its files into the folder of the day they arrived"
    if partitions.has_partition_key(folder):
        return None
    first = partitions.get_first_partition_key()
    if first is None or folder < first:
        return (f"is before the first daily partition ({first or partitions.start.strftime('%Y-%m-%d')}): "
                f"set PARTITIONS_START_DATE={folder} (or earlier) and reload the code location")
    return (f"is after today's partition {partitions.get_last_partition_key()}: a delivery folder is the day "
            "the files arrived, so it cannot be in the future; fix the folder name or the clock")


def invalid_folders(landing_dir: Path, sources=PARTITIONED_SOURCES) -> dict[str, str]:
    """``{<source>/<folder>: why}`` for folders of partitioned sources that are not a partition key."""
    problems = {}
    for source in sources:
        for folder in sorted({f.delivery_date for f in discover(landing_dir, source)}):
            why = why_not_a_partition(folder)
            if why:
                problems[f"{source}/{folder}"] = why
    return problems


def check_delivery_folders(landing_dir: Path, sources=PARTITIONED_SOURCES) -> None:
    problems = invalid_folders(landing_dir, sources)
    if problems:
        listed = "\n".join(f"- {landing_dir}/{folder} {why}" for folder, why in problems.items())
        raise DeliveryFolderError(f"{len(problems)} delivery folder(s) are not daily partitions, so their files "
                                  f"would never be loaded:\n{listed}")
