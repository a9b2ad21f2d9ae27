"""The ML assets in the real build: tables, metadata, blocking checks, determinism, planted truth.

The session's ``built_warehouse`` ran every asset through ``python -m orchestration build``;
tests that need another run materialize the ML assets in-process on a copy of that
warehouse, so the shared one is never written to.
"""

from __future__ import annotations

import json
import shutil

import dagster as dg
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource
from sklearn.metrics import adjusted_rand_score, roc_auc_score

from orchestration.defs.ml import churn, clv, ml_asset_checks, ml_assets, ml_model_assets
from orchestration.defs.ml.common import ml_key
from orchestration.defs.ml.reuse import force_retrain_config

MODEL_ASSETS = ["segmentation", "churn", "clv", "recommender", "feedback"]
MODEL_KEYS = {"churn": "churn_model", "clv": "clv_model", "recommender": "recommender_model",
              "feedback": "feedback_model", "segmentation": "customer_segments"}


@pytest.fixture(scope="module")
def instance(built_warehouse):
    with dg.DagsterInstance.from_config(built_warehouse.env["DAGSTER_HOME"]) as inst:
        yield inst


def _warehouse_copy(built_warehouse, tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(built_warehouse.database, data_dir / "warehouse.duckdb")
    # Artifacts of these runs go under the copy, not the shared warehouse's models folder.
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    return data_dir / "warehouse.duckdb"


def _materialize(database, assets, checks=(), run_config=None):
    return dg.materialize([*assets, *checks], resources={"warehouse": DuckDBResource(database=str(database))},
                          raise_on_error=False, run_config=run_config)


def _training_metadata(instance, name):
    """Metadata of the asset's latest materialization that fitted the model (a later build may have reused it)."""
    for record in instance.fetch_materializations(ml_key(name), limit=20).records:
        metadata = record.asset_materialization.metadata
        if metadata["retrained"].value:
            return {k: getattr(v, "value", v) for k, v in metadata.items()}
    raise AssertionError(f"ml/{name} was not trained by the build")


def test_every_ml_table_is_written_with_sane_contents(built_warehouse):
    q = built_warehouse.query
    customers = q("select count(*) from marts.dim_customers")[0][0]
    buyers = q("select count(distinct customer_key) from marts.fct_orders where status <> 'cancelled'")[0][0]
    assert q("select count(*), count(distinct customer_key) from ml.customer_segments")[0] == (customers, customers)
    assert q("select count(*) from ml.customer_segments where segment_name_en is null or segment_name_zh is null "
             "or model_run_id is null")[0][0] == 0
    profiles = built_warehouse.df("select * from ml.segment_profiles")
    assert profiles["n_customers"].sum() == q("select count(*) from ml.customer_segments where segment_id >= 0")[0][0]
    assert {"mean_recency_days", "mean_monetary", "top_categories"} <= set(profiles.columns)

    scores = built_warehouse.df("select * from ml.churn_scores")
    assert len(scores) == scores["customer_key"].nunique() == buyers
    assert scores["churn_probability"].between(0, 1).all()
    assert set(scores["risk_decile"]) == set(range(1, 11))
    # Riskier deciles carry higher mean probabilities: the decile is a ranking of the score.
    by_decile = scores.groupby("risk_decile")["churn_probability"].mean()
    assert by_decile.is_monotonic_increasing

    clv_rows = built_warehouse.df("select * from ml.customer_clv")
    assert len(clv_rows) == buyers
    assert clv_rows["prob_alive"].between(0, 1).all() and (clv_rows["clv"] >= 0).all()
    assert (clv_rows["expected_purchases"] >= 0).all() and clv_rows["clv"].sum() > 0

    recs = built_warehouse.df("select * from ml.recommendations")
    assert recs["customer_key"].nunique() == customers
    assert recs.groupby("customer_key")["rank"].max().max() == 10 and recs["rank"].min() == 1
    assert set(recs["source"]) <= {"similar", "popular"}
    already = q("""select count(*) from ml.recommendations r join marts.fct_order_items i
                   on i.customer_key = r.customer_key and i.product_id = r.product_id
                   where i.order_status <> 'cancelled'""")[0][0]
    assert already == 0, "a customer was recommended a product they already bought"
    assert q("select count(*) from ml.recommendations r left join marts.dim_products p using (product_id) "
             "where p.product_id is null")[0][0] == 0

    feedback = built_warehouse.df("select * from ml.feedback_sentiment")
    assert set(feedback["feedback_source"]) == {"survey", "ticket", "social"}
    assert set(feedback["language"]) <= {"zh", "en"} and feedback["feedback_id"].is_unique
    assert q("select count(*) from ml.feedback_topics")[0][0] > 0


def test_each_model_records_a_run_and_metrics_in_dagster(built_warehouse, instance):
    runs = built_warehouse.df("select * from ml.model_runs")
    assert sorted(runs["model"].unique()) == sorted(MODEL_ASSETS)
    assert runs["passed_baseline"].ne(False).all(), runs[["model", "baseline_verdict"]]
    assert runs["params"].notna().all() and runs["metrics"].notna().all()

    def meta(name):
        return _training_metadata(instance, name)

    churn_meta = meta("churn_model")
    for key in ("auc", "pr_auc", "brier", "lift_top_decile", "base_rate", "logistic_auc", "logistic_pr_auc"):
        assert isinstance(churn_meta[key], float), key
    # better ranking than chance; probabilities no worse than the base rate beyond its sampling noise
    # (the same rule as the blocking check, churn.churn_verdict, on ~400 validation customers)
    base, n = churn_meta["base_rate"], churn_meta["validation_customers"]
    noise = 2 * (base * (1 - base) * (1 - 2 * base) ** 2 / n) ** 0.5
    assert churn_meta["auc"] > 0.55 and churn_meta["brier"] <= base * (1 - base) + noise
    # Forward-in-time split: each label window ends where the next cutoff begins, never after.
    h = pd.Timedelta(days=churn_meta["horizon_days"])
    assert pd.Timestamp(churn_meta["train_cutoff"]) + h <= pd.Timestamp(churn_meta["valid_cutoff"])
    assert pd.Timestamp(churn_meta["valid_cutoff"]) + h <= pd.Timestamp(churn_meta["reference_date"])

    seg = meta("customer_segments")
    assert seg["k"] >= 2 and -1 <= seg["silhouette"] <= 1 and 0 <= seg["stability_ari"] <= 1
    rec = meta("recommender_model")
    assert {"precision_at_n", "recall_at_n", "popularity_precision_at_n", "popularity_recall_at_n"} <= set(rec)
    clv_meta = meta("clv_model")
    assert {"bgnbd_r", "bgnbd_alpha", "bgnbd_a", "bgnbd_b", "gamma_gamma_p", "holdout_relative_error"} <= set(clv_meta)
    assert abs(clv_meta["holdout_relative_error"]) <= clv.HOLDOUT_TOLERANCE
    assert "n_labelled" in meta("feedback_model")
    for name in MODEL_KEYS.values():
        assert meta(name)["artifact_path"].endswith(".pkl")

    keys = [key for check in ml_asset_checks for key in check.check_keys]
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    for key in keys:
        assert key in latest and latest[key].status.value == "SUCCEEDED", key


def _shuffle_recent_orders(database, since):
    """Reassign every order from ``since`` on to a customer drawn at random from all customers: future purchases
    stop depending on the past. (Permuting the recent buyers' keys instead would keep who buys often buying often,
    a signal a good model still finds.)"""
    import duckdb

    with duckdb.connect(str(database)) as con:
        con.execute(f"""
            create or replace temp table shuffled as
            with recent as (select order_id from marts.fct_orders where order_date >= date '{since}'),
            customers as (select customer_key, row_number() over (order by customer_key) - 1 as i,
                                 count(*) over () as n from marts.dim_customers)
            select recent.order_id, customers.customer_key
            from recent join customers on customers.i = hash(recent.order_id || ':shuffle') % customers.n""")
        con.execute("update marts.fct_orders o set customer_key = s.customer_key from shuffled s where o.order_id = s.order_id")


def test_blocking_check_stops_scoring_when_the_churn_model_is_no_better_than_chance(built_warehouse, tmp_path,
                                                                                     monkeypatch):
    database = _warehouse_copy(built_warehouse, tmp_path, monkeypatch)
    params = built_warehouse.query("select params from ml.model_runs where model = 'churn'")[0][0]
    train_cutoff = json.loads(params)["train_cutoff"]
    _shuffle_recent_orders(database, train_cutoff)
    before = built_warehouse.query("select distinct model_run_id from ml.churn_scores")

    result = _materialize(database, [churn.churn_model, churn.churn_scores], [churn.churn_model_beats_baseline],
                          force_retrain_config([churn.churn_model]))

    assert not result.success
    evaluation = next(e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION")
    assert evaluation.passed is False and "does not beat" in evaluation.description
    materialized = {e.event_specific_data.materialization.asset_key for e in result.all_events
                    if e.event_type_value == "ASSET_MATERIALIZATION"}
    assert ml_key("churn_model") in materialized and ml_key("churn_scores") not in materialized
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("select distinct model_run_id from ml.churn_scores").fetchall() == before
        failed = con.execute("select passed_baseline from ml.model_runs where model = 'churn' "
                             "order by trained_at desc limit 1").fetchone()[0]
    assert failed is False


def test_same_data_and_seed_give_the_same_scores_and_a_new_model_run(built_warehouse, tmp_path, monkeypatch):
    runs_before = dict(built_warehouse.query("select model, count(*) from ml.model_runs group by 1"))
    database = _warehouse_copy(built_warehouse, tmp_path, monkeypatch)
    result = _materialize(database, ml_assets, ml_asset_checks, force_retrain_config(ml_model_assets))
    assert result.success
    import duckdb

    tables = {"customer_segments": "customer_key", "churn_scores": "customer_key", "customer_clv": "customer_key",
              "recommendations": "customer_key, rank", "feedback_sentiment": "feedback_id"}
    with duckdb.connect(str(database), read_only=True) as con:
        for table, order in tables.items():
            again = con.execute(f"select * exclude (model_run_id) from ml.{table} order by {order}").df()
            first = built_warehouse.df(f"select * exclude (model_run_id) from ml.{table} order by {order}")
            # when the rows were scored and written differs run to run; what they say must not
            written = ["scored_at", "_built_at"]
            again, first = again.drop(columns=written, errors="ignore"), first.drop(columns=written, errors="ignore")
            pd.testing.assert_frame_equal(again, first, check_exact=False, rtol=1e-9, obj=f"ml.{table}")
        runs = con.execute("select model, count(*) from ml.model_runs group by 1").fetchall()
    # one more row per model than the warehouse had: other tests may have rebuilt it before this one
    assert set(runs_before) == set(MODEL_ASSETS)
    assert dict(runs) == {m: runs_before[m] + 1 for m in MODEL_ASSETS}


def test_a_later_build_scores_with_the_last_models_and_refits_only_stale_ones(built_warehouse, tmp_path,
                                                                             monkeypatch):
    """The daily build hands on each model's last training; a model whose training is too old, whose
    artifact was erased, or that the run is told to refit, is fitted again (orchestration/defs/ml/reuse.py)."""
    import duckdb

    database = _warehouse_copy(built_warehouse, tmp_path, monkeypatch)
    models = database.parent / "models"
    shutil.copytree(built_warehouse.data_dir / "models", models)
    with duckdb.connect(str(database)) as con:
        latest = dict(con.execute("select model, arg_max(model_run_id, trained_at) from ml.model_runs group by 1")
                      .fetchall())
        # churn: trained on data eight days older than the warehouse's (the limit is seven)
        con.execute("update ml.model_runs set reference_date = reference_date - interval 8 day where model_run_id = ?",
                    [latest["churn"]])
    # recommender: its artifact is gone, as after an erasure
    for artifact in models.glob("recommender-*"):
        artifact.unlink()
    segments_before = built_warehouse.df("select * exclude (scored_at) from ml.customer_segments order by 1")

    # clv: this run is told to refit it
    result = _materialize(database, ml_assets, ml_asset_checks, force_retrain_config([clv.clv_model]))

    assert result.success
    metadata = {e.event_specific_data.materialization.asset_key.path[-1]:
                {k: getattr(v, "value", v) for k, v in e.event_specific_data.materialization.metadata.items()}
                for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}
    refitted = {"churn": "8 days older than the data", "recommender": "cannot be used", "clv": "force_retrain"}
    for model, why in refitted.items():
        meta = metadata[MODEL_KEYS[model]]
        assert meta["retrained"] is True and why in meta["retrain_decision"], (model, meta["retrain_decision"])
    for model in ("segmentation", "feedback"):
        meta = metadata[MODEL_KEYS[model]]
        assert meta["retrained"] is False and meta["model_run_id"] == latest[model], meta
        assert meta["retrain_decision"].startswith(f"scoring with {latest[model]}")

    scored_by = {"customer_segments": "segmentation", "churn_scores": "churn", "customer_clv": "clv",
                 "recommendations": "recommender", "feedback_sentiment": "feedback"}
    with duckdb.connect(str(database), read_only=True) as con:
        trained_now = dict(con.execute("select model, model_run_id from ml.model_runs where dagster_run_id = ?",
                                       [result.run_id]).fetchall())
        assert set(trained_now) == set(refitted), "only the stale models were fitted again"
        for table, model in scored_by.items():
            used = con.execute(f"select distinct model_run_id from ml.{table}").fetchall()
            assert used == [(trained_now.get(model, latest[model]),)], (table, used)
        segments_after = con.execute("select * exclude (scored_at) from ml.customer_segments order by 1").df()
        refitted_artifact = con.execute("select artifact_path from ml.model_runs where model_run_id = ?",
                                        [trained_now["recommender"]]).fetchone()[0]
    # The same data scored with the same segmentation gives every customer the segment it was fitted with.
    pd.testing.assert_frame_equal(segments_after, segments_before)
    assert refitted_artifact.startswith(str(models)) and len(list(models.glob("recommender-*.pkl"))) == 1


def test_models_find_the_planted_truth(built_warehouse):
    truth = built_warehouse.customers_truth()
    segments = built_warehouse.df("select customer_key, segment_id from ml.customer_segments where segment_id >= 0")
    seg = segments.merge(truth[["customer_key", "persona"]], on="customer_key")
    assert adjusted_rand_score(seg["persona"], seg["segment_id"]) > 0.1

    reference = pd.Timestamp(built_warehouse.query("select max(order_date) from marts.fct_orders")[0][0]) \
        + pd.Timedelta(days=1)
    scores = built_warehouse.df("select customer_key, churn_probability from ml.churn_scores")
    scored = scores.merge(truth[["customer_key", "alive_until"]], on="customer_key")
    dead = (pd.to_datetime(scored["alive_until"]).dt.tz_localize(None) < reference).to_numpy()
    assert dead.any() and not dead.all()
    assert roc_auc_score(dead, scored["churn_probability"]) > 0.6

    # 90 days hold too few drop-outs for BG/NBD to tell who is gone (prob_alive ~ 1 for all);
    # docs/models.md scores prob_alive against alive_until on the 10k-customer demo.
