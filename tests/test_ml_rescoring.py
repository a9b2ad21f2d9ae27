"""Scoring with an unchanged model rewrites only the rows whose inputs changed (orchestration/defs/ml/rescoring.py).

On a copy of the built warehouse (and its model artifacts, so the models are handed on,
not refitted), a few customers' purchases and a few texts change; the recommendations
and feedback sentiment scored incrementally must equal a full rescoring of the same data.
"""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from orchestration.defs.ml import feedback, recommendations, rescoring
from orchestration.defs.quality.runner import run_suite
from orchestration.defs.quality.suites import discover_suites

ASSETS = [recommendations.recommender_model, recommendations.recommendations, feedback.feedback_model,
          feedback.feedback_sentiment]
SUITES = {s.name: s for s in discover_suites()}
SCORING_OPS = (recommendations.recommendations.op.name, feedback.feedback_sentiment.op.name)


@pytest.fixture
def warehouse_with_models(built_warehouse, tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(built_warehouse.database, data_dir / "warehouse.duckdb")
    shutil.copytree(built_warehouse.data_dir / "models", data_dir / "models")
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    return data_dir / "warehouse.duckdb"


def _score(database, rescore_all=False) -> dict[str, dict]:
    config = {"ops": {op: {"config": {"rescore_all": rescore_all}} for op in SCORING_OPS}}
    result = dg.materialize(ASSETS, resources={"warehouse": DuckDBResource(database=str(database))},
                            run_config=config)
    assert result.success
    return {e.event_specific_data.materialization.asset_key.path[-1]:
            {k: getattr(v, "value", v) for k, v in e.event_specific_data.materialization.metadata.items()}
            for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}


def _tables(database, stamps: bool = False) -> dict[str, pd.DataFrame]:
    """The scoring tables, without the time of each row's write unless ``stamps``."""
    orders = {"recommendations": "customer_key, rank", "feedback_sentiment": "feedback_id", "feedback_topics": "1"}
    with duckdb.connect(str(database), read_only=True) as con:
        tables = {t: con.execute(f"select * from ml.{t} order by {o}").df() for t, o in orders.items()}
    return {t: f if stamps else f.drop(columns=[rescoring.WRITE_STAMP], errors="ignore") for t, f in tables.items()}


def _change_inputs(database) -> dict[str, set]:
    """Change four customers' recommendation inputs and two texts; return what changed."""
    with duckdb.connect(str(database)) as con:
        q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        # A: loses a product it bought on one order line only, and still owns others
        a, a_line = q("""
            with owned as (select customer_key, product_id, count(*) over (partition by customer_key, product_id) as lines,
                                  count(distinct product_id) over (partition by customer_key) as products, order_item_id
                           from marts.fct_order_items where order_status <> 'cancelled')
            select customer_key, order_item_id from owned where lines = 1 and products > 1
            order by customer_key, order_item_id limit 1""")[0]
        con.execute("update marts.fct_order_items set order_status = 'cancelled' where order_item_id = ?", [a_line])
        # D: one of its lines now holds a product it did not own
        d, d_line, new_product = q(f"""
            select i.customer_key, i.order_item_id, p.product_id
            from marts.fct_order_items i, marts.dim_products p
            where i.order_status <> 'cancelled' and i.customer_key <> '{a}'
              and p.product_id not in (select product_id from marts.fct_order_items o
                                       where o.customer_key = i.customer_key)
            order by i.customer_key, i.order_item_id, p.product_id limit 1""")[0]
        con.execute("update marts.fct_order_items set product_id = ? where order_item_id = ?", [new_product, d_line])
        # C: gone from the customers (one without texts, which would name it); B: a new customer without purchases
        c = q(f"""select min(customer_key) from marts.dim_customers where customer_key not in ('{a}', '{d}')
                  and customer_key not in (select customer_key from ml.feedback_sentiment
                                           where customer_key is not null)""")[0][0]
        con.execute("create temp table b as select * from marts.dim_customers where customer_key = ?", [c])
        con.execute("update b set customer_key = 'new-customer-without-orders'")
        con.execute("delete from marts.dim_customers where customer_key = ?", [c])
        con.execute("insert into marts.dim_customers select * from b")
        # a survey comment reworded (its staging is a view over raw), a ticket gone (from raw and from the tables
        # built on it, as an erasure deletes it)
        survey = q("select min(response_id) from staging.stg_survey__responses where nullif(trim(comment), '') is not null")[0][0]
        con.execute("update raw.survey_responses set comment = 'terrible, slow and broken' where trim(response_id) = ?",
                    [survey])
        ticket = q("select min(ticket_id) from staging.stg_helpdesk__support_tickets "
                   "where nullif(trim(description), '') is not null")[0][0]
        con.execute("delete from raw.support_tickets where trim(ticket_id) = ?", [ticket])
        con.execute("delete from staging.stg_helpdesk__support_tickets where ticket_id = ?", [ticket])
        con.execute("delete from marts.fct_support_tickets where ticket_id = ?", [ticket])
    return {"rescored_customers": {a, d, "new-customer-without-orders"}, "removed_customers": {c},
            "rescored_texts": {f"survey:{survey}"}, "removed_texts": {f"ticket:{ticket}"}}


def test_an_unchanged_model_rescores_only_changed_inputs_and_matches_a_full_rescoring(warehouse_with_models):
    database = warehouse_with_models
    first = _score(database)
    assert first["recommender_model"]["retrained"] is False, "the built warehouse's model is handed on"
    assert first["recommendations"]["customers_scored"] == 0, first["recommendations"]["rescore_reason"]
    assert first["feedback_sentiment"]["texts_scored"] == 0, first["feedback_sentiment"]["rescore_reason"]
    before = _tables(database)

    changed = _change_inputs(database)
    meta = _score(database)
    recs, texts = meta["recommendations"], meta["feedback_sentiment"]
    assert recs["rescored"] == "changed inputs only" and texts["rescored"] == "changed inputs only"
    assert (recs["customers_scored"], recs["customers_removed"]) == (3, 1), recs["rescore_reason"]
    assert (texts["texts_scored"], texts["texts_removed"]) == (1, 1), texts["rescore_reason"]
    incremental = _tables(database)

    r = incremental["recommendations"]
    assert set(r["customer_key"]) == set(before["recommendations"]["customer_key"]) \
        - changed["removed_customers"] | {"new-customer-without-orders"}
    assert (r.loc[r["customer_key"] == "new-customer-without-orders", "source"] == "popular").all()
    assert set(incremental["feedback_sentiment"]["feedback_id"]) == set(before["feedback_sentiment"]["feedback_id"]) \
        - changed["removed_texts"]
    untouched = ~before["recommendations"]["customer_key"].isin(changed["rescored_customers"]
                                                                | changed["removed_customers"])
    kept = r[r["customer_key"].isin(before["recommendations"].loc[untouched, "customer_key"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, before["recommendations"][untouched].reset_index(drop=True))
    # the rescored rows carry this run's write time, the others their earlier one: a daily run's suite validates
    # its row conditions on exactly the rows it wrote
    stamped = _tables(database, stamps=True)["recommendations"]
    newest = stamped[rescoring.WRITE_STAMP] == stamped[rescoring.WRITE_STAMP].max()
    assert set(stamped.loc[newest, "customer_key"]) == changed["rescored_customers"]
    with duckdb.connect(str(database), read_only=True) as con:
        for suite in ("ml.recommendations", "ml.feedback_sentiment", "ml.feedback_topics"):
            result = run_suite(con, SUITES[suite])
            assert result.success, (suite, [(r.description or r.label, r.observed_value) for r in result.failed])
        partitioned = run_suite(con, SUITES["ml.recommendations"], changed_rows_only=True)
        assert partitioned.success and partitioned.scope.startswith("rows built at")
        assert partitioned.rows_checked == newest.sum() < len(stamped)

    full = _score(database, rescore_all=True)
    assert full["recommendations"]["rescored"] == "all"
    assert full["recommendations"]["rescore_reason"] == "rescore_all requested"
    for table, frame in _tables(database).items():
        pd.testing.assert_frame_equal(incremental[table], frame, obj=f"ml.{table}")


def test_another_model_run_or_list_length_rescores_everything(warehouse_with_models):
    database = warehouse_with_models
    with duckdb.connect(str(database)) as con:
        con.execute("update ml.feedback_sentiment set model_run_id = 'feedback-older'")
    meta = _score(database)
    assert meta["feedback_sentiment"]["rescored"] == "all"
    assert "scored by feedback-older" in meta["feedback_sentiment"]["rescore_reason"]
    assert meta["recommendations"]["rescored"] == "changed inputs only"

    config = {"ops": {recommendations.recommendations.op.name: {"config": {"top_n": 5}}}}
    result = dg.materialize(ASSETS[:2], resources={"warehouse": DuckDBResource(database=str(database))},
                            run_config=config)
    assert result.success
    recs = result.asset_materializations_for_node(recommendations.recommendations.op.name)[0].metadata
    assert recs["rescored"].value == "all" and recs["rescore_reason"].value == "top_n changed: lists of 10, now 5"
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("select max(rank), min(rank) from ml.recommendations").fetchone() == (5, 1)


def test_a_table_from_before_write_stamps_gets_the_column_instead_of_a_full_rescoring(warehouse_with_models):
    database = warehouse_with_models
    with duckdb.connect(str(database)) as con:
        con.execute(f"alter table ml.recommendations drop column {rescoring.WRITE_STAMP}")
    changed = _change_inputs(database)
    meta = _score(database)
    assert meta["recommendations"]["rescored"] == "changed inputs only", meta["recommendations"]["rescore_reason"]
    stamped = _tables(database, stamps=True)["recommendations"]
    assert set(stamped.loc[stamped[rescoring.WRITE_STAMP].notna(), "customer_key"]) == changed["rescored_customers"]
