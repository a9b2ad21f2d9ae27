"""The dbt project as Dagster assets: one ``DbtProject``, two ``@dbt_assets`` running ``dbt build``.

* ``incremental_dbt_facts``: the models tagged ``delivery_partitioned``, partitioned by delivery date
  like the event sources they read: the incremental ones (the order chain ``stg_shop__orders``,
  ``stg_shop__order_items``, ``int_order_lines_totaled``, ``fct_orders`` and ``fct_order_items``, the
  purchases per customer ``int_customer_purchases``, and the clickstream chain ``stg_web__events``,
  ``int_web_events_sessionized`` and ``fct_sessions``, the campaign touches
  ``stg_marketing__campaign_events`` and the tickets ``stg_helpdesk__support_tickets``), and with them
  what the facts are built from and reference, rebuilt whole each run: every staging model, seed and
  the CRM snapshot (with the profile view it keeps), the dimensions ``dim_customers`` and
  ``dim_products``, and ``int_identity_resolved``.
  A run passes its partition window to dbt as ``--vars`` (``delivery_date_from`` /
  ``delivery_date_to``; ``macros/incremental.sql``), so a daily run merges that day's data and
  re-running a partition recomputes exactly its rows. A backfill of a range is one run and one dbt
  invocation (``BackfillPolicy.single_run``).
* ``warehouse_dbt_models``: the marts built on those, unpartitioned (tables rebuilt whole every run).

Why the partitioned asset holds more than the incremental models: Dagster runs a dbt multi-asset as
one step, and so one dbt invocation (about 6 s CPU before dbt builds anything), per stretch of the
run between other asset definitions. With only the incremental models partitioned, a build
alternated between the two assets (incremental staging, other staging, the dimensions, the facts,
the marts on them, the marts on model outputs): six invocations. Now it is three: staging with the
dimensions and facts, the marts, and the marts that read the ML outputs (``customer_360``,
``segment_breakdowns``). The cost: the staging and dimension assets show daily partitions in the UI
though each run rebuilds them whole, a deployment upgraded from the six-step layout catches up
once (its first build runs every date, since those assets have no partitions materialized yet), and
the expectation suites on the dimensions run after the facts are built in the same invocation (dbt's
relationship tests on the facts still gate them; the suites gate everything after the step).

dbt tests arrive as asset checks on the models they test. Asset keys are
``[schema, name]`` for every dbt node, so the dbt sources line up with the
ingest assets' ``raw/<source>`` keys without special cases.
"""


import json
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.defs.ingest.partitions import PARTITIONED_TAG, SINGLE_RUN, delivery_date_partitions
from orchestration.defs.privacy.pseudonyms import MAP_TABLE
from orchestration.settings import DBT_PROJECT_DIR, Settings, every_row_requested

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
        spec = spec.replace_attributes(
            key=dg.AssetKey([schema, name]),
            group_name=schema,
            owners=[owner] if owner else spec.owners,
            kinds={"dbt", "duckdb"},
        )
        if PARTITIONED_DBT_TAG in props.get("tags", []):  # the partitioned ones (INCREMENTAL_SELECT)
            spec = spec.merge_attributes(tags=PARTITIONED_TAG)
        starts_the_project = props["resource_type"] == "seed" or schema == "staging"
        if starts_the_project and PSEUDONYMS_KEY not in {dep.asset_key for dep in spec.deps}:
            spec = spec.merge_attributes(deps=[PSEUDONYMS_KEY])
        return spec


# Every staging model and seed starts after the run's privacy step (erasures, then the pseudonym map). Most
# staging models read the map anyway; the rest (products, order lines, the seeds) get the edge here so the whole
# dbt project starts at one point of the run. Dagster splits a dbt multi-asset into one step, and so one dbt
# invocation of several seconds, per distance from the run's roots (counted in hops between asset definitions):
# without the edge the seeds, products and order lines ran as three more invocations of their own.
PSEUDONYMS_KEY = dg.AssetKey(MAP_TABLE.split("."))


class DbtBuildConfig(dg.Config):
    # Rebuild the incremental models (order facts, clickstream chain) from all of raw instead of
    # merging only what changed (`dbt build --full-refresh`; CLI: `build --full-refresh`).
    full_refresh: bool = False
    rfm_reference_date: Optional[str] = None  # YYYY-MM-DD; default: the latest order date
    # Delivery-date window (YYYY-MM-DD) whose raw rows the incremental facts recompute besides
    # everything loaded since their last build. Default: the run's partition window.
    delivery_date_from: Optional[str] = None
    delivery_date_to: Optional[str] = None
    # A run with a delivery window tests only the rows its incremental models wrote (the daily run); this
    # makes it test every row, as unpartitioned builds do (dbt_project/macros/tests_on_changed_rows.sql).
    # The run tag quality/every_row=true does the same for the dbt steps and the expectation suites together.
    test_every_row: bool = False


def dbt_target_path() -> Path:
    """One dbt target folder per warehouse file, beside it, reused by every invocation.

    dagster-dbt otherwise gives each invocation a fresh folder: dbt then re-parses the whole
    project every time (a few seconds, several invocations a run) because the partial-parse file
    it copies was written for another profile, and the folders pile up run after run. dbt's partial
    parse is only valid for the profile it was made with, hence one folder per warehouse; writers of
    one warehouse are serialised by the duckdb_writer pool, so two dbt processes never share it.
    It lives outside the dbt project because dagster-dbt copies the whole project for large
    selections (see ``_stream_dbt``), and a target folder inside would be copied with it.
    """
    database = Settings.from_env().duckdb_database
    return database.parent / "dbt_target" / database.stem


def _stream_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, args: list[str]):
    """Run ``dbt <args>`` for the selected nodes, streaming its events to Dagster.

    When a step lists more than 200 dbt nodes by name (a part of an asset with its tests named one by
    one, e.g. a hand-made selection of most models; the build's own steps stay under that since
    ``cede18a``, tests/test_end_to_end.py), dagster-dbt writes its selection as a ``selectors.yml``
    into a temporary copy of the project and runs dbt there; it never deletes the copy. Left alone,
    every such run leaves a project copy in the temp folder, so it is removed once dbt has finished,
    and so is the partial-parse file dbt wrote there: its nodes hold the copy's absolute path, and
    the next invocation with the same vars would reuse them and look for seed files in the deleted copy.
    """
    target_path = dbt_target_path()
    invocation = dbt.cli(args, context=context, target_path=target_path)
    try:
        yield from invocation.stream()
    finally:
        if _remove_selection_copy(Path(invocation.project_dir)):
            (target_path / PARTIAL_PARSE_FILE).unlink(missing_ok=True)


PARTIAL_PARSE_FILE = "partial_parse.msgpack"


def _remove_selection_copy(project_dir: Path) -> bool:
    """Delete ``project_dir`` if it is a temporary copy of the project; say whether it was one."""
    temp_root = Path(tempfile.gettempdir()).resolve()
    project_dir = project_dir.resolve()
    if project_dir != DBT_PROJECT_DIR.resolve() and project_dir.is_relative_to(temp_root) and project_dir != temp_root:
        shutil.rmtree(project_dir, ignore_errors=True)
        return True
    return False


# The partitioned models carry this dbt tag (every incremental model must: tests/test_partitions.py),
# read off the manifest by dbt's own selector.
PARTITIONED_DBT_TAG = "delivery_partitioned"
INCREMENTAL_SELECT = f"tag:{PARTITIONED_DBT_TAG}"


def dbt_build_args(config: DbtBuildConfig, window: tuple[str, str] | None = None, every_row: bool = False) -> list[str]:
    """``dbt build`` arguments; ``window`` is the run's (first, last) delivery date, if partitioned;
    ``every_row``: the run asked for every row to be tested (``EVERY_ROW_TAG``)."""
    args = ["build"]
    if config.full_refresh:
        args.append("--full-refresh")
    dbt_vars: dict[str, str] = {}
    if config.rfm_reference_date:
        dbt_vars["rfm_reference_date"] = config.rfm_reference_date
    date_from, date_to = config.delivery_date_from, config.delivery_date_to
    if not date_from and window:
        date_from, date_to = window
    if date_from:
        dbt_vars["delivery_date_from"] = date_from
        dbt_vars["delivery_date_to"] = date_to or date_from
    if config.test_every_row or every_row:
        dbt_vars["test_every_row"] = True
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    return args


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=INCREMENTAL_SELECT,
    dagster_dbt_translator=WarehouseTranslator(),
    partitions_def=delivery_date_partitions,
    backfill_policy=SINGLE_RUN,
    pool="duckdb_writer",
)
def incremental_dbt_facts(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig):
    window = context.partition_key_range  # one day, or the range of a single-run backfill
    context.log.info(f"incremental models: delivery window {window.start} to {window.end}")
    yield from _stream_dbt(context, dbt, dbt_build_args(config, (window.start, window.end),
                                                        every_row_requested(context.run.tags)))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    exclude=INCREMENTAL_SELECT,
    dagster_dbt_translator=WarehouseTranslator(),
    pool="duckdb_writer",
)
def warehouse_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig):
    # The run's delivery window goes to these models too, though only the incremental ones read it:
    # dbt re-parses the whole project whenever --vars differ from its last invocation.
    yield from _stream_dbt(context, dbt, dbt_build_args(config, run_window(context.run.tags),
                                                        every_row_requested(context.run.tags)))


def run_window(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """The delivery dates of a partitioned run, from its tags (a single-run backfill or one partition)."""
    if tags.get("dagster/asset_partition_range_start"):
        start = tags["dagster/asset_partition_range_start"]
        return start, tags.get("dagster/asset_partition_range_end") or start
    if tags.get("dagster/partition"):
        return tags["dagster/partition"], tags["dagster/partition"]
    return None


DBT_ASSETS = (incremental_dbt_facts, warehouse_dbt_models)


def full_refresh_run_config(job: dg.JobDefinition) -> dict:
    """Run config setting ``full_refresh`` on every dbt step of ``job``.

    A dbt multi-asset can run as several steps (``warehouse_dbt_models``, ``warehouse_dbt_models_2``...)
    when other assets sit between its models (the incremental facts, the ML tables).
    """
    names = tuple(a.op.name for a in DBT_ASSETS)
    return {"ops": {node.name: {"config": {"full_refresh": True}} for node in job.graph.nodes
                    if node.name.startswith(names)}}


# The dbt installed in this Python environment, so the code location works without an activated venv.
_DBT_EXECUTABLE = shutil.which("dbt") or str(Path(sys.prefix) / "bin" / "dbt")
dbt_resource = DbtCliResource(
    project_dir=dbt_project, dbt_executable=_DBT_EXECUTABLE
)
