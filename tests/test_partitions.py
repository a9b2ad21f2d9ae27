"""Daily delivery-date partitions: what is partitioned, what a partition loads, which range a build runs.

Real files from the demo generator, the real loader on a real DuckDB file and a real (temporary)
Dagster instance; the slow tests in ``test_partition_runs.py`` run the whole build.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

import dagster as dg
from dagster._core.definitions.dependency import NodeHandle
from landing.contract import SOURCES
from landing.generate import generate
from orchestration.defs.dbt.assets import (
    PARTITIONED_DBT_TAG,
    DbtBuildConfig,
    dbt_build_args,
    incremental_dbt_facts,
    warehouse_dbt_models,
)
from orchestration.defs.ingest.loader import load_source
from orchestration.defs.ingest.partitions import (
    PARTITIONED_SOURCES,
    DeliveryFolderError,
    Window,
    delivery_date_partitions,
    delivery_dates,
)
from orchestration.defs.ops.build_plan import plan_build
from orchestration.settings import DBT_PROJECT_DIR, DEFAULT_PARTITIONS_START_DATE, EVERY_ROW_TAG, every_row_requested

FACTS = (dg.AssetKey(["staging", "stg_shop__orders"]), dg.AssetKey(["staging", "stg_shop__order_items"]),
         dg.AssetKey(["intermediate", "int_order_lines_totaled"]),
         dg.AssetKey(["marts", "fct_orders"]), dg.AssetKey(["marts", "fct_order_items"]),
         dg.AssetKey(["intermediate", "int_customer_purchases"]))
CLICKSTREAM = (dg.AssetKey(["staging", "stg_web__events"]), dg.AssetKey(["intermediate", "int_web_events_sessionized"]),
               dg.AssetKey(["intermediate", "int_identity_resolved"]), dg.AssetKey(["marts", "fct_sessions"]))
EVENT_STAGING = (dg.AssetKey(["staging", "stg_marketing__campaign_events"]),
                 dg.AssetKey(["staging", "stg_helpdesk__support_tickets"]))
# Rebuilt whole, but in the partitioned dbt asset with the facts they feed or that reference them, so a build runs
# dbt in three steps (orchestration/defs/dbt/assets.py).
BUILT_WITH_THE_FACTS = (
    *(dg.AssetKey(["staging", m]) for m in ("stg_catalog__products", "stg_crm__consent_versions", "stg_crm__customers",
                                            "stg_privacy__requests", "stg_social__mentions", "stg_survey__responses",
                                            "country_codes")),
    *(dg.AssetKey(["marts", m]) for m in ("breakdown_definitions", "experiment_design", "kpi_targets", "rfm_segment_map",
                                          "dim_customers", "dim_products")),
    dg.AssetKey(["intermediate", "int_customer_profiles"]), dg.AssetKey(["intermediate", "snap_crm__customers"]))
PARTITIONED_KEYS = [*(dg.AssetKey(["raw", s]) for s in PARTITIONED_SOURCES), *FACTS, *CLICKSTREAM, *EVENT_STAGING,
                    *BUILT_WITH_THE_FACTS]


@pytest.fixture(scope="module")
def demo_landing(tmp_path_factory) -> Path:
    """Five delivery days of demo files (2026-10-27 .. 2026-10-31), generated once for the module."""
    root = tmp_path_factory.mktemp("partitions")
    generate(out_dir=root / "landing", truth_dir=root / "truth", customers=60, days=5, seed=5, progress=None)
    return root / "landing"


@pytest.fixture
def landing(demo_landing, tmp_path) -> Path:
    copy = tmp_path / "landing"
    shutil.copytree(demo_landing, copy)
    return copy


def raw_digest(database: Path, source: str) -> tuple[int, str]:
    """Row count and an order-independent checksum of raw.<source> (every column, load metadata included)."""
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(f"select * from raw.{source}").fetchall()
    return len(rows), hashlib.sha256("\n".join(sorted(map(repr, rows))).encode()).hexdigest()


def load(database: Path, landing: Path, window: Window | None, sources=PARTITIONED_SOURCES) -> dict[str, int]:
    with duckdb.connect(str(database)) as con:
        return {s: load_source(con, s, landing, rejected_dir=landing.parent / "rejected", delivery_dates=window
                               ).rows_landed for s in sources}


def loaded_dates(database: Path, source: str) -> list[str]:
    with duckdb.connect(str(database), read_only=True) as con:
        return [r[0] for r in con.execute(
            f"select distinct split_part(_source_file, '/', 2) from raw.{source} order by 1").fetchall()]


def test_event_sources_and_incremental_models_are_daily_partitions_backfilled_in_one_run():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    partitioned = {k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def is not None}
    assert partitioned == set(PARTITIONED_KEYS)
    for key in partitioned:
        node = graph.get(key)
        assert node.partitions_def == delivery_date_partitions
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), key
    # dimension-like sources stay whole (read whole downstream; erasures apply whatever day is loaded)
    for source in ("customers", "products", "social_mentions", "privacy_requests"):
        assert graph.get(dg.AssetKey(["raw", source])).partitions_def is None
    assert delivery_date_partitions.get_first_partition_key() == DEFAULT_PARTITIONS_START_DATE
    # the demo generator's default year (2025-11-01 .. 2026-10-31) is covered, and so is today's folder
    assert delivery_date_partitions.has_partition_key("2025-11-01")
    assert delivery_date_partitions.get_last_partition_key() == datetime.now(timezone.utc).strftime("%Y-%m-%d")
    # the whole build is one partitioned job: the unpartitioned assets run in every partition's run
    job = defs.resolve_job_def("build_warehouse")
    assert job.partitions_def == delivery_date_partitions
    assert dg.AssetKey(["raw", "customers"]) in job.asset_layer.executable_asset_keys


def test_partition_window_reaches_dbt_as_vars():
    args = dbt_build_args(DbtBuildConfig(), ("2026-10-01", "2026-10-07"))
    assert args[:1] == ["build"]
    assert json.loads(args[args.index("--vars") + 1]) == {"delivery_date_from": "2026-10-01",
                                                          "delivery_date_to": "2026-10-07"}
    # the unpartitioned dbt models get no window; explicit config wins over the partition
    assert dbt_build_args(DbtBuildConfig()) == ["build"]
    explicit = dbt_build_args(DbtBuildConfig(delivery_date_from="2026-09-01", full_refresh=True), ("2026-10-01",) * 2)
    assert "--full-refresh" in explicit
    assert json.loads(explicit[explicit.index("--vars") + 1])["delivery_date_from"] == "2026-09-01"
    every_row = dbt_build_args(DbtBuildConfig(test_every_row=True), ("2026-10-01",) * 2)
    assert json.loads(every_row[every_row.index("--vars") + 1])["test_every_row"] is True
    # the run tag asks for it too, for the dbt steps and the expectation suites alike
    assert every_row_requested({EVERY_ROW_TAG: "true"}) and not every_row_requested({})
    tagged = dbt_build_args(DbtBuildConfig(), ("2026-10-01",) * 2, every_row_requested({EVERY_ROW_TAG: "True"}))
    assert json.loads(tagged[tagged.index("--vars") + 1])["test_every_row"] is True


def test_a_partition_loads_only_its_delivery_folders_and_reloading_it_changes_nothing(landing, tmp_path):
    db = tmp_path / "wh.duckdb"
    days = delivery_dates(landing)
    assert days == ["2026-10-27", "2026-10-28", "2026-10-29", "2026-10-30", "2026-10-31"]

    load(db, landing, Window(days[1], days[1]))
    for source in ("orders", "web_events"):
        assert loaded_dates(db, source) == [days[1]]
    # a range of partitions (a single-run backfill) loads all its folders in one go
    load(db, landing, Window(days[2], days[4]))
    assert loaded_dates(db, "orders") == days[1:]

    before = {s: raw_digest(db, s) for s in PARTITIONED_SOURCES}
    assert load(db, landing, Window(days[1], days[4])) == {s: 0 for s in PARTITIONED_SOURCES}
    assert {s: raw_digest(db, s) for s in PARTITIONED_SOURCES} == before

    # a late file in an old folder is loaded by re-running that folder's partition, and only then
    late = landing / "orders" / days[1] / "orders_late.csv"
    with late.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(SOURCES["orders"].column_names)
        writer.writerow(["OLATE0001", "C00000001", f"{days[1]}T10:00:00Z", "web", "completed", "30.00", "0.00",
                         "4.90", "34.90", f"{days[1]}T10:00:00Z"])
    assert load(db, landing, Window(days[4], days[4]), ["orders"]) == {"orders": 0}
    assert load(db, landing, Window(days[1], days[1]), ["orders"]) == {"orders": 1}
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select _source_file from raw.orders where order_id = 'OLATE0001'").fetchall() == [
            (f"orders/{days[1]}/orders_late.csv",)]

    # a folder that is not a date belongs to no partition, even where its name would sort inside the window
    stray = landing / "orders" / "2026-10-3"
    stray.mkdir()
    (stray / "orders_stray.csv").write_text(late.read_text(encoding="utf-8").replace("OLATE0001", "OSTRAY001"),
                                            encoding="utf-8")
    assert load(db, landing, Window(days[1], days[-1]), ["orders"]) == {"orders": 0}


def _first_line(folder: Path) -> str:
    return next(folder.glob("*.jsonl")).read_text(encoding="utf-8").splitlines()[0]


def _materialize(instance: dg.DagsterInstance, keys, dates) -> None:
    for key in keys:
        for day in dates:
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=day))


def test_build_plan_covers_what_needs_loading_then_only_the_latest_day(landing, tmp_path):
    db = tmp_path / "wh.duckdb"
    days = delivery_dates(landing)
    with dg.instance_for_test() as instance:
        fresh = plan_build(landing, db, instance, PARTITIONED_KEYS)
        assert (fresh.first, fresh.last, len(fresh.partition_keys)) == (days[0], days[-1], 5)
        assert "5 date(s) with files not loaded yet" in fresh.reason

        # everything loaded, but Dagster has no materialization (a new DAGSTER_HOME, a run that died)
        load(db, landing, None)
        unrecorded = plan_build(landing, db, instance, PARTITIONED_KEYS)
        assert (unrecorded.first, unrecorded.last) == (days[0], days[-1])
        assert "without a materialization" in unrecorded.reason and "not loaded" not in unrecorded.reason
        _materialize(instance, PARTITIONED_KEYS[:-1], days)
        assert plan_build(landing, db, instance, PARTITIONED_KEYS).reason.startswith("5 date(s) without")
        _materialize(instance, PARTITIONED_KEYS[-1:], days)

        # nothing to do: the latest day again, which loads nothing twice
        idle = plan_build(landing, db, instance, PARTITIONED_KEYS)
        assert (idle.first, idle.last) == (days[-1], days[-1])

        # a late file in an old folder: that day only
        event = json.loads(_first_line(landing / "web_events" / days[1]))
        (landing / "web_events" / days[1] / "late.jsonl").write_text(
            json.dumps({**event, "event_id": "ELATE0001"}) + "\n", encoding="utf-8")
        late_plan = plan_build(landing, db, instance, PARTITIONED_KEYS)
        assert (late_plan.first, late_plan.last) == (days[1], days[1])
        # a file re-delivered under its name with more content counts as not loaded too
        events = next((landing / "web_events" / days[2]).glob("*.jsonl"))
        events.write_text(events.read_text(encoding="utf-8") + json.dumps({**event, "event_id": "EMORE0001"}) + "\n",
                          encoding="utf-8")
        grown = plan_build(landing, db, instance, PARTITIONED_KEYS)
        assert (grown.first, grown.last) == (days[1], days[2])

        # the CLI's --from/--to, and --full-refresh over every date present
        asked = plan_build(landing, db, instance, PARTITIONED_KEYS, date_from=days[0], date_to=days[2])
        assert (asked.first, asked.last, asked.reason) == (days[0], days[2], "the range asked for")
        one = plan_build(landing, db, instance, PARTITIONED_KEYS, date_from=days[3])
        assert (one.first, one.last) == (days[3], days[3])
        full = plan_build(landing, db, instance, PARTITIONED_KEYS, full_refresh=True)
        assert (full.first, full.last) == (days[0], days[-1])


def test_build_plan_names_what_is_wrong_and_the_fix(landing, tmp_path):
    db = tmp_path / "wh.duckdb"
    with dg.instance_for_test() as instance:
        with pytest.raises(DeliveryFolderError, match="--to 2026-10-01 is before --from 2026-10-05: swap them"):
            plan_build(landing, db, instance, PARTITIONED_KEYS, date_from="2026-10-05", date_to="2026-10-01")
        with pytest.raises(DeliveryFolderError, match="--from 2024-06-01 is before the first daily partition .*"
                                                      "set PARTITIONS_START_DATE=2024-06-01"):
            plan_build(landing, db, instance, PARTITIONED_KEYS, date_from="2024-06-01")
        with pytest.raises(DeliveryFolderError, match="--to needs --from"):
            plan_build(landing, db, instance, PARTITIONED_KEYS, date_to="2026-10-01")

        # a folder that can never be a partition would never be loaded: refuse to start, and say why
        stray = landing / "orders" / "2026-10-3"
        stray.mkdir()
        shutil.copy(next((landing / "orders" / "2026-10-30").iterdir()), stray / "orders.csv")
        with pytest.raises(DeliveryFolderError, match=r"orders/2026-10-3 is not a delivery date \(YYYY-MM-DD\): "
                                                      "move its files into the folder of the day they arrived"):
            plan_build(landing, db, instance, PARTITIONED_KEYS)


# Incremental models that follow their inputs' _built_at stamps and never read the delivery window: they catch
# up with whatever the partitioned models rewrote, so they stay with the marts built on those.
STAMP_FOLLOWERS = {"int_customer_preferences", "customer_lifecycle_monthly"}
WINDOW_MACROS = ("changed_raw_rows", "changed_order_ids", "raw_versions_of_changed_keys", "delivery_date")


def test_every_incremental_model_is_in_the_partitioned_dbt_asset():
    """An incremental model reading the delivery window outside the partitioned asset would never see it."""
    nodes = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())["nodes"].values()
    models = {n["name"]: n for n in nodes if n["resource_type"] in ("model", "seed", "snapshot")}
    incremental = {name for name, n in models.items() if n["config"]["materialized"] == "incremental"}
    tagged = {name for name, n in models.items() if PARTITIONED_DBT_TAG in n["tags"]}
    assert {"fct_orders", "fct_order_items", "stg_web__events", "int_web_events_sessionized",
            "fct_sessions"} | STAMP_FOLLOWERS <= incremental
    assert incremental - STAMP_FOLLOWERS <= tagged
    for name in STAMP_FOLLOWERS:
        assert not any(macro in models[name]["raw_code"] for macro in WINDOW_MACROS), name
    partitioned_keys = {key.path[-1] for key in incremental_dbt_facts.keys}
    assert tagged == partitioned_keys
    assert not partitioned_keys & {key.path[-1] for key in warehouse_dbt_models.keys}


def test_the_build_runs_dbt_in_three_steps_each_after_what_it_reads():
    """Dagster splits a dbt multi-asset into one step (one dbt invocation, about 6 s CPU before any model) per
    stretch of the run between other asset definitions. The build needs three: staging with the dimensions and the
    facts (the partitioned asset), the marts on them, and the marts on the model outputs. With only the incremental
    models partitioned it took six (the two assets alternated), and before cede18a eight."""
    from orchestration.definitions import defs

    job = defs.resolve_job_def("build_warehouse")
    steps = {}
    for node in job.graph.nodes:
        if node.name.startswith((incremental_dbt_facts.op.name, warehouse_dbt_models.op.name)):
            keys = job.asset_layer.get_selected_entity_keys_for_node(NodeHandle(node.name, None))
            steps[node.name] = {k.path[-1] for k in keys if isinstance(k, dg.AssetKey)}
    assert len(steps) == 3, sorted(map(sorted, steps.values()))
    assert steps[incremental_dbt_facts.op.name] == {k.path[-1] for k in incremental_dbt_facts.keys}
    by_model = {model: step for step, models in steps.items() for model in models}
    assert by_model["customer_rfm"] == by_model["dim_customers_history"] == by_model["kpi_daily"]
    assert by_model["customer_360"] == by_model["segment_breakdowns"] != by_model["customer_rfm"]
