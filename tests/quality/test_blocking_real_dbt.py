"""With the real code location's assets: a failing raw suite keeps the real dbt marts from building."""

import csv

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
from dagster_duckdb import DuckDBResource

from orchestration.defs.dbt.assets import DBT_ASSETS, dbt_resource
from orchestration.defs.ingest.assets import ingest_assets
from orchestration.defs.ml import ml_assets
from orchestration.defs.quality.checks import quality_checks


def _landing(root):
    customers = root / "customers/2026-03-01/c.csv"
    customers.parent.mkdir(parents=True)
    with customers.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["customer_id", "email", "phone", "first_name", "last_name", "gender", "birth_date", "city",
                    "region", "country", "signup_at", "acquisition_channel", "marketing_consent", "updated_at"])
        w.writerow(["C1", "a@example.com", "", "Li", "Wei", "female", "", "", "", "CN", "2026-01-01T00:00:00Z",
                    "email", "true", "2026-01-01T00:00:00Z"])
    orders = root / "orders/2026-03-01/o.parquet"
    orders.parent.mkdir(parents=True)
    # Loadable (no hard rule broken), but the customer does not exist: the raw.orders suite must fail.
    pq.write_table(pa.table({
        "order_id": ["O1"], "customer_id": ["C404"], "ordered_at": ["2026-03-01T09:00:00Z"], "channel": ["web"],
        "status": ["completed"], "subtotal_amount": [10.0], "discount_amount": [0.0], "shipping_amount": [1.0],
        "total_amount": [11.0], "updated_at": ["2026-03-01T09:00:00Z"]}), orders)


def test_failing_raw_orders_suite_stops_the_real_dbt_models(tmp_path, monkeypatch):
    data = tmp_path / "data"
    _landing(data / "landing")
    monkeypatch.setenv("DATA_DIR", str(data))
    monkeypatch.setenv("DUCKDB_DATABASE", str(data / "warehouse.duckdb"))
    raw = [a for a in ingest_assets if a.key.path[1] in ("customers", "orders")]
    # The model assets are in the graph though not selected: without them the dbt models that read model outputs
    # (customer_360) would sit in the same step as the marts the model suites read, a cycle Dagster refuses.
    result = dg.materialize(
        [*raw, *DBT_ASSETS, *ml_assets, *quality_checks],
        selection=dg.AssetSelection.assets(*[a.key for a in raw]) | dg.AssetSelection.assets(["marts", "fct_orders"]),
        resources={"warehouse": DuckDBResource(database=str(data / "warehouse.duckdb")), "dbt": dbt_resource},
        partition_key="2026-03-01",  # the delivery date: raw.orders and fct_orders are partitioned by it
        raise_on_error=False,
    )
    evaluations = {e.asset_key.to_user_string(): e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations == {"raw/customers": True, "raw/orders": False}
    built = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert built == {"raw/customers", "raw/orders"}, "no dbt model was built from the failing raw.orders"
