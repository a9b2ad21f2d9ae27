"""Jobs that data engineers launch from the UI, the CLI and schedules, with the schedules beside them."""

from datetime import datetime, timedelta, timezone

import dagster as dg

from orchestration.defs.ml import ml_model_assets
from orchestration.defs.ml.reuse import force_retrain_config
from orchestration.defs.serving.assets import SNAPSHOT_KEY

build_warehouse_job = dg.define_asset_job(
    name="build_warehouse",
    selection=dg.AssetSelection.all(),
    description="For a delivery date (or a range: one run), load its landing folders and every new file of the "
                "unpartitioned sources, run all quality gates, merge the incremental facts for that window, rebuild "
                "every other dbt model, score every customer (refitting a model only when its last training is "
                "more than a week older than the data, or unusable), publish.",
)

# The daily build hands on each model's last training while it is fresh (orchestration/defs/ml/reuse.py);
# this job's config makes every model asset refit, whatever the age of its last training.
FORCE_RETRAIN = force_retrain_config(ml_model_assets)

retrain_models_job = dg.define_asset_job(
    name="retrain_models",
    # The marts are rebuilt daily; the weekly retrain refits the models on them and republishes,
    # so BI tools get the new scores the same morning.
    selection=dg.AssetSelection.groups("ml") | dg.AssetSelection.assets(SNAPSHOT_KEY),
    config=FORCE_RETRAIN,
    description="Refit every customer model (the `ml` group) on the current marts, score every customer with "
                "them, then republish the serving file.",
)

# Schedules start stopped: a fresh clone running `make dev` should not start loading on its own.
# Turn them on under Automation in the UI (or `dagster schedule start`) on the machine that runs production.


@dg.schedule(
    name="daily_build_warehouse",
    job=build_warehouse_job,
    cron_schedule="0 4 * * *",
    execution_timezone="UTC",
    description="Every day at 04:00 UTC: build_warehouse for yesterday's delivery date (its folders are complete "
                "by then): load, gate, model, publish.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def daily_build_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    # Not build_schedule_from_partitioned_job: the partitions include today (end_offset=1, so the
    # sensor can load files the day they land), and at 04:00 today's folder has barely started.
    now = context.scheduled_execution_time or datetime.now(timezone.utc)
    day = (now.astimezone(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=f"daily-{day}", partition_key=day, tags={"trigger": "daily_build_warehouse"})


weekly_retrain_schedule = dg.ScheduleDefinition(
    name="weekly_retrain_models",
    job=retrain_models_job,
    cron_schedule="0 6 * * 1",
    execution_timezone="UTC",
    description="Mondays at 06:00 UTC, after the daily build: refit the customer models and republish.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
