"""Jobs that data engineers launch from the UI, the CLI and schedules, with the schedules beside them."""

import dagster as dg

from orchestration.defs.serving.assets import SNAPSHOT_KEY

build_warehouse_job = dg.define_asset_job(
    name="build_warehouse",
    selection=dg.AssetSelection.all(),
    description="Load every new landing file, run all quality gates, build every dbt model and model output.",
)

retrain_models_job = dg.define_asset_job(
    name="retrain_models",
    # The marts are rebuilt daily; the weekly retrain refits the models on them and republishes,
    # so BI tools get the new scores the same morning.
    selection=dg.AssetSelection.groups("ml") | dg.AssetSelection.assets(SNAPSHOT_KEY),
    description="Refit every customer model (the `ml` group) on the current marts, then republish the serving file.",
)

# Schedules start stopped: a fresh clone running `make dev` should not start loading on its own.
# Turn them on under Automation in the UI (or `dagster schedule start`) on the machine that runs production.
daily_build_schedule = dg.ScheduleDefinition(
    name="daily_build_warehouse",
    job=build_warehouse_job,
    cron_schedule="0 4 * * *",
    execution_timezone="UTC",
    description="Every day at 04:00 UTC, after the overnight feeds have landed: load, gate, model, publish.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)

weekly_retrain_schedule = dg.ScheduleDefinition(
    name="weekly_retrain_models",
    job=retrain_models_job,
    cron_schedule="0 6 * * 1",
    execution_timezone="UTC",
    description="Mondays at 06:00 UTC, after the daily build: refit the customer models and republish.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
