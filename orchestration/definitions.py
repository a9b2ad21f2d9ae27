"""The Dagster code location: one ``Definitions`` for the whole warehouse.

Each domain lives in ``orchestration/defs/<domain>/``; this module only puts them together.
"""

from __future__ import annotations

import dagster as dg

from orchestration.defs.dbt.assets import DBT_ASSETS, dbt_resource
from orchestration.defs.ingest.assets import ingest_assets
from orchestration.defs.jobs import (
    build_warehouse_job,
    daily_build_schedule,
    retrain_models_job,
    weekly_retrain_schedule,
)
from orchestration.defs.ml import ml_asset_checks, ml_assets
from orchestration.defs.ops.alerts import run_failure_alert
from orchestration.defs.ops.landing_sensor import landing_zone_sensor
from orchestration.defs.privacy.assets import privacy_assets
from orchestration.defs.quality.checks import quality_checks
from orchestration.defs.quality.data_docs_sensor import data_docs_index
from orchestration.defs.report import report_assets
from orchestration.defs.resources import export_settings_for_subprocesses, warehouse_resource
from orchestration.defs.serving.assets import build_serving_asset
from orchestration.secret_keys import check_production_secrets
from orchestration.settings import Settings

settings = Settings.from_env()
export_settings_for_subprocesses(settings)
# A production deployment without its secrets must not load at all: say which and how to fix it.
check_production_secrets()

_assets = [*ingest_assets, *privacy_assets, *DBT_ASSETS, *ml_assets]

defs = dg.Definitions(
    # The snapshot depends on whatever the other domains put in the published groups.
    assets=[*_assets, build_serving_asset([*_assets, *quality_checks, *ml_asset_checks]), *report_assets],
    asset_checks=[*quality_checks, *ml_asset_checks],
    jobs=[build_warehouse_job, retrain_models_job],
    schedules=[daily_build_schedule, weekly_retrain_schedule],
    sensors=[landing_zone_sensor, run_failure_alert, data_docs_index],
    resources={"warehouse": warehouse_resource(settings), "dbt": dbt_resource},
    # DuckDB has one writer per file: steps of a run execute one at a time in one process.
    executor=dg.in_process_executor,
)
