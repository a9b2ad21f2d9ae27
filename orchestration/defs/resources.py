"""Resources shared by every domain, configured from ``orchestration.settings``."""

from __future__ import annotations

import os

from dagster_duckdb import DuckDBResource

from orchestration.settings import Settings, apply_quiet_network_env


def warehouse_resource(settings: Settings) -> DuckDBResource:
    config = {}
    if settings.duckdb_threads:
        config["threads"] = settings.duckdb_threads
    if settings.duckdb_memory_limit:
        config["memory_limit"] = settings.duckdb_memory_limit
    settings.duckdb_database.parent.mkdir(parents=True, exist_ok=True)
    return DuckDBResource(database=str(settings.duckdb_database), connection_config=config)


def export_settings_for_subprocesses(settings: Settings) -> None:
    """dbt runs as a subprocess and reads the warehouse path from its profile's env var."""
    apply_quiet_network_env()
    os.environ["DUCKDB_DATABASE"] = str(settings.duckdb_database)
