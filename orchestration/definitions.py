"""The Dagster code location: one ``Definitions`` for the whole warehouse.

Each domain lives in ``orchestration/defs/<domain>/``; this module only puts them together.
"""

from __future__ import annotations

import dagster as dg

from orchestration.defs.dbt.assets import dbt_resource, warehouse_dbt_models
from orchestration.defs.ingest.assets import ingest_assets
from orchestration.defs.jobs import build_warehouse_job
from orchestration.defs.quality.checks import quality_checks
from orchestration.defs.resources import export_settings_for_subprocesses, warehouse_resource
from orchestration.settings import Settings

settings = Settings.from_env()
export_settings_for_subprocesses(settings)

defs = dg.Definitions(
    assets=[*ingest_assets, warehouse_dbt_models],
    asset_checks=quality_checks,
    jobs=[build_warehouse_job],
    resources={"warehouse": warehouse_resource(settings), "dbt": dbt_resource},
    # DuckDB has one writer per file: steps of a run execute one at a time in one process.
    executor=dg.in_process_executor,
)
