"""The dbt project as Dagster assets: one ``DbtProject``, one ``@dbt_assets`` running ``dbt build``.

dbt tests arrive as asset checks on the models they test. Asset keys are
``[schema, name]`` for every dbt node, so the dbt sources line up with the
ingest assets' ``raw/<source>`` keys without special cases.
"""


import json
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)
# Under `dagster dev` the manifest is re-parsed on load; everywhere else it is prepared at setup
# (`make setup` runs `dbt parse`), so importing the code location never shells out to dbt.
dbt_project.prepare_if_dev()

_LAYER_OWNERS = {"staging": "team:data-engineering", "intermediate": "team:data-engineering",
                 "marts": "team:analytics", "ml": "team:data-science"}


class WarehouseTranslator(DagsterDbtTranslator):
    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        schema = props["schema"]
        name = props.get("identifier") or props.get("alias") or props["name"]
        if props["resource_type"] == "source":
            return spec.replace_attributes(key=dg.AssetKey([schema, name]))
        owner = _LAYER_OWNERS.get(schema)
        return spec.replace_attributes(
            key=dg.AssetKey([schema, name]),
            group_name=schema,
            owners=[owner] if owner else spec.owners,
            kinds={"dbt", "duckdb"},
        )


class DbtBuildConfig(dg.Config):
    # Rebuild the incremental facts (fct_orders, fct_order_items) from all of raw instead of
    # merging only what changed (`dbt build --full-refresh`; CLI: `build --full-refresh`).
    full_refresh: bool = False
    rfm_reference_date: Optional[str] = None  # YYYY-MM-DD; default: the latest order date
    # Delivery-date window (YYYY-MM-DD) whose raw rows the incremental facts recompute besides
    # everything loaded since their last build. Default: the run's partition window, if any.
    delivery_date_from: Optional[str] = None
    delivery_date_to: Optional[str] = None


# Tags Dagster puts on a run of one partition or of a range (a single-run backfill).
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def partition_window(tags: Mapping[str, str]) -> tuple[Optional[str], Optional[str]]:
    """The delivery dates of a partitioned run, from its tags (None, None for an unpartitioned run)."""
    if tags.get(RANGE_START_TAG):
        return tags[RANGE_START_TAG], tags.get(RANGE_END_TAG) or tags[RANGE_START_TAG]
    if tags.get(PARTITION_TAG):
        return tags[PARTITION_TAG], tags[PARTITION_TAG]
    return None, None


def dbt_build_args(config: DbtBuildConfig, tags: Mapping[str, str] | None = None) -> list[str]:
    args = ["build"]
    if config.full_refresh:
        args.append("--full-refresh")
    dbt_vars: dict[str, str] = {}
    if config.rfm_reference_date:
        dbt_vars["rfm_reference_date"] = config.rfm_reference_date
    date_from, date_to = config.delivery_date_from, config.delivery_date_to
    if not date_from:
        date_from, date_to = partition_window(tags or {})
    if date_from:
        dbt_vars["delivery_date_from"] = date_from
        dbt_vars["delivery_date_to"] = date_to or date_from
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    return args


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=WarehouseTranslator(),
    pool="duckdb_writer",
)
def warehouse_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig):
    yield from dbt.cli(dbt_build_args(config, context.run.tags), context=context).stream()


# The dbt installed in this Python environment, so the code location works without an activated venv.
_DBT_EXECUTABLE = shutil.which("dbt") or str(Path(sys.prefix) / "bin" / "dbt")
dbt_resource = DbtCliResource(
    project_dir=dbt_project, dbt_executable=_DBT_EXECUTABLE
)
