"""Every setting of the warehouse, read from the environment in this one place.

Each setting has a default that works on a fresh clone; the README lists them.
Nothing here imports Dagster, so the demo generator and tests can use it too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

# First delivery date with a daily partition (PARTITIONS_START_DATE). It must be on or before the
# oldest delivery folder: the demo generator's default year (365 days up to 2026-10-31) starts on 2025-11-01.
DEFAULT_PARTITIONS_START_DATE = "2025-01-01"

# Run tag: a partitioned run (the daily build) validates and dbt-tests only the rows it wrote; with
# this tag set to "true" its expectation suites and dbt tests read every row, as unpartitioned
# builds always do.
EVERY_ROW_TAG = "quality/every_row"


def every_row_requested(run_tags) -> bool:
    return str(run_tags.get(EVERY_ROW_TAG, "")).lower() == "true"


# Keep every tool quiet on the network: this machine (and many production ones) has none.
QUIET_NETWORK_ENV = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "DAGSTER_DISABLE_TELEMETRY": "true",
}


def _iso_date(name: str, default: str) -> str:
    value = os.environ.get(name) or default
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a date: set it as YYYY-MM-DD (e.g. {default}), or unset it") from None
    return value


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    path = Path(value) if value else default
    return path if path.is_absolute() else (Path.cwd() / path)


def _positive_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name}={value!r}: expected a whole number of days >= 1 (default {default})")
    return int(value)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    landing_dir: Path
    duckdb_database: Path
    serving_dir: Path
    exports_dir: Path
    quarantine_files_dir: Path
    truth_dir: Path
    dagster_home: Path
    duckdb_threads: int | None
    duckdb_memory_limit: str | None
    partitions_start_date: str
    privacy_dir: Path
    raw_event_retention_days: int

    @classmethod
    def from_env(cls) -> "Settings":
        data_dir = _path("DATA_DIR", PROJECT_ROOT / "data")
        threads = os.environ.get("DUCKDB_THREADS")
        return cls(
            data_dir=data_dir,
            landing_dir=_path("LANDING_DIR", data_dir / "landing"),
            duckdb_database=_path("DUCKDB_DATABASE", data_dir / "warehouse.duckdb"),
            serving_dir=_path("SERVING_DIR", data_dir / "serving"),
            exports_dir=_path("EXPORTS_DIR", data_dir / "exports"),
            quarantine_files_dir=_path("REJECTED_FILES_DIR", data_dir / "rejected_files"),
            truth_dir=_path("TRUTH_DIR", data_dir / "truth"),
            dagster_home=_path("DAGSTER_HOME", data_dir / "dagster_home"),
            duckdb_threads=int(threads) if threads else None,
            duckdb_memory_limit=os.environ.get("DUCKDB_MEMORY_LIMIT") or None,
            partitions_start_date=_iso_date("PARTITIONS_START_DATE", DEFAULT_PARTITIONS_START_DATE),
            privacy_dir=_path("PRIVACY_DIR", data_dir / "privacy"),
            raw_event_retention_days=_positive_int("RAW_EVENT_RETENTION_DAYS", 730),
        )


# Dagster records a "planned" event per asset and per partition when a run starts, each its own write:
# a build over a year of delivery dates wrote about 9,000 of them before its first step (53 s at any
# scale). With this set, a run over a range plans each asset once, for the range; the maintainers'
# advice for wide single-run backfills (dagster-io/dagster#32242). What it costs: if that run fails,
# Dagster OSS does not mark its partitions failed (they show as missing; the run shows failed).
ONE_PLANNED_EVENT_PER_ASSET = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


def plan_each_asset_once_for_a_range() -> None:
    """For a run over several delivery dates: one planned event per asset (a value set already stays)."""
    os.environ.setdefault(ONE_PLANNED_EVENT_PER_ASSET, "true")


def apply_quiet_network_env() -> None:
    for key, value in QUIET_NETWORK_ENV.items():
        os.environ.setdefault(key, value)
