"""Jobs that data engineers launch from the UI, the CLI and schedules."""

import dagster as dg

build_warehouse_job = dg.define_asset_job(
    name="build_warehouse",
    selection=dg.AssetSelection.all(),
    description="Load every new landing file, run all quality gates, build every dbt model and model output.",
)
