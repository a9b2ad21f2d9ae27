"""Today's behavioural features of every customer who has bought, computed once per build.

Segmentation and churn scoring both describe customers as of the data's reference date
with the same features (``ml.features.customer_features_in``); at a million customers
that computation reads tens of millions of orders, order lines and clickstream days
(about 27 s wall, 52 s CPU at L), and it ran once for each of them. Now this asset
writes the features to ``ml.customer_features`` and both read that table. It is also a
feature table analysts can query next to the scores it explains.

Churn training does not read it: it needs the features at past cutoffs.
"""

from __future__ import annotations

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from ml.features import customer_features_in

from . import common, inputs

TABLE = "customer_features"

# What the customer features read (inputs.FEATURE_SOURCES).
FEATURE_DEPS = [common.mart("fct_orders"), common.mart("fct_order_items"), common.mart("dim_products"),
                common.staging("stg_web__events"), common.staging("stg_helpdesk__support_tickets"),
                common.staging("stg_survey__responses")]


@dg.asset(
    key=common.ml_key(TABLE),
    deps=FEATURE_DEPS,
    group_name=common.GROUP, kinds=common.KINDS, owners=common.OWNERS, pool=common.POOL,
    description="One row per customer who has bought: recency, tenure, frequency, monetary value, order rhythm, "
                "discount and return rates, recent orders and revenue, channel and category shares, recent "
                "activity; as of the data's reference date (the day after the latest order). Read by "
                "ml/customer_segments and ml/churn_scores.",
)
def customer_features(warehouse: DuckDBResource) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        reference = common.reference_date(con)
        features = customer_features_in(con, inputs.FEATURE_SOURCES, reference)
        features["reference_date"] = reference.date()
        types = {"customer_key": "varchar", **{c: "double" for c in features.columns[1:-1]},
                 "reference_date": "date"}
        n = common.write_table(con, TABLE, features, types)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": n, "reference_date": str(reference.date()),
        "features": dg.MetadataValue.json(list(features.columns[1:-1])),
    })


def read(con: duckdb.DuckDBPyConnection, reference: pd.Timestamp) -> pd.DataFrame:
    """``ml.customer_features`` as ``customer_features_in`` returns them, provided they are as of ``reference``."""
    if "reference_date" not in common.table_columns(con, TABLE):
        raise RuntimeError(f"ml.{TABLE} does not exist: materialize ml/{TABLE} before the assets that score "
                           "customers (the daily build does)")
    stored = con.execute(f"select min(reference_date), max(reference_date) from {common.SCHEMA}.{TABLE}").fetchone()
    # An empty table (no customer has a purchase) is as current as any.
    if stored != (None, None) and stored != (reference.date(), reference.date()):
        raise RuntimeError(f"ml.{TABLE} is as of {stored[0]}, but the data's reference date is {reference.date()}: "
                           f"materialize ml/{TABLE} again before scoring (the orders changed since)")
    return inputs.query_df(con, f"select * exclude (reference_date) from {common.SCHEMA}.{TABLE} order by customer_key")

