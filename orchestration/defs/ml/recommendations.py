"""Product recommendations: item-to-item co-purchase similarity with a popularity fallback.

Evaluated leave-last-purchase-out against recommending the most popular products;
the scoring model is then refitted on every purchase before the reference date.
"""

import time

import dagster as dg
import numpy as np
import pandas as pd
from dagster_duckdb import DuckDBResource

from ml import artifacts, recommend

from . import common, inputs, rescoring, reuse
from .common import TrainedModel, Verdict


class RecommenderConfig(dg.Config):
    top_n: int = 10
    neighbours: int = 50


class RecommenderModelConfig(RecommenderConfig, reuse.RetrainPolicy):
    pass


# Item-kNN fails only when it is worse than popularity by more than this many
# standard errors of the paired per-customer hit difference; a small demo with a
# couple of hundred evaluable customers cannot tell a few hits apart from noise.
SIGNIFICANT_SE = 2.0


def paired_evaluation(purchases: pd.DataFrame, n: int, neighbours: int) -> tuple[pd.DataFrame, dict]:
    """ml.recommend's leave-last-purchase-out evaluation, keeping per-customer hits for a paired comparison."""
    train, test = recommend.split_last_purchase(purchases)
    model = recommend.fit_item_knn(train, neighbours)
    who = np.sort(test["customer_key"].unique())
    rows, hits = [], {}
    for name, recs in (("item_knn", recommend.recommend(model, who, n)),
                       ("popularity", recommend.recommend_popular(model, who, n))):
        per_customer = recommend.hits_per_customer(recs, test, n)
        rows.append({"model": name, **recommend.hit_metrics(per_customer, n), "n": n})
        hits[name] = per_customer["hits"].to_numpy()
    diff = hits["item_knn"] - hits["popularity"]
    se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("inf")
    return pd.DataFrame(rows), {"mean_hit_difference": float(diff.mean()) if len(diff) else 0.0,
                                "hit_difference_se": se}


def recommender_verdict(evaluation: pd.DataFrame, paired: dict) -> Verdict:
    by = evaluation.set_index("model")
    knn, pop = by.loc["item_knn"], by.loc["popularity"]
    text = (f"precision@{int(knn['n'])} {knn['precision_at_n']:.4f} vs popularity {pop['precision_at_n']:.4f}, "
            f"recall {knn['recall_at_n']:.4f} vs {pop['recall_at_n']:.4f} on {int(knn['n_customers'])} customers' "
            f"held-out last purchases; hits per customer {paired['mean_hit_difference']:+.3f} "
            f"(se {paired['hit_difference_se']:.3f})")
    if knn["precision_at_n"] >= pop["precision_at_n"] and knn["recall_at_n"] >= pop["recall_at_n"]:
        return Verdict(True, text)
    if paired["mean_hit_difference"] + SIGNIFICANT_SE * paired["hit_difference_se"] >= 0:
        return Verdict(None, "item-kNN below popularity but within sampling noise: " + text)
    return Verdict(False, "item-kNN significantly worse than popularity: " + text)


@dg.asset(
    key=common.ml_key("recommender_model"),
    group_name=common.GROUP, kinds=common.KINDS, owners=common.OWNERS, pool=common.POOL,
    deps=[common.mart("fct_order_items")],
    description="Item-item cosine similarity over who bought what, evaluated on held-out last purchases against "
                "the popularity baseline; handed to ml/recommendations.",
)
def recommender_model(context: dg.AssetExecutionContext, config: RecommenderModelConfig,
                      warehouse: DuckDBResource) -> dg.Output:
    started = time.perf_counter()
    with warehouse.get_connection() as con:
        reference = common.reference_date(con)
        last, decision = reuse.reuse_last_model(con, "recommender", config, reference)
        if last is not None:
            return reuse.reused_output(last, decision)
        purchases = inputs.purchases(con)
    evaluation, paired = paired_evaluation(purchases, config.top_n, config.neighbours)
    model = recommend.fit_item_knn(purchases, config.neighbours)
    verdict = recommender_verdict(evaluation, paired)
    by = evaluation.set_index("model")
    metrics = {k: float(by.loc["item_knn", k]) for k in ("precision_at_n", "recall_at_n", "hit_rate")}
    baseline = {k: float(by.loc["popularity", k]) for k in ("precision_at_n", "recall_at_n", "hit_rate")}
    metrics["n_customers_evaluated"] = int(by.loc["item_knn", "n_customers"])
    metrics.update(paired)
    snapshot = artifacts.data_sha(purchases)
    params = reuse.model_params(config)
    code, path = common.save_artifact(model, "recommender", snapshot, {**metrics, "popularity": baseline}, params)
    trained = TrainedModel("recommender", model, metrics, baseline, params, verdict,
                           common.new_model_run_id(context, "recommender"), code, snapshot, str(path),
                           str(reference.date()))
    with warehouse.get_connection() as con:
        common.record_model_run(con, trained, context.run.run_id)
    return dg.Output(trained, metadata={
        **trained.run_metadata(), **common.float_metadata(metrics), **common.float_metadata(baseline, "popularity_"),
        "top_n": config.top_n, "products": len(model.items), "customers_with_purchases": len(model.customers),
        "evaluation": dg.MetadataValue.md(evaluation.round(4).to_markdown(index=False)),
        "training_seconds": round(time.perf_counter() - started, 1),
        "retrain_decision": decision,
    })


@dg.asset_check(asset=recommender_model, blocking=True,
                description="Item-to-item recommendations beat the popularity baseline on held-out last purchases "
                            "(precision@N and recall@N not lower); significantly worse blocks the recommendations, "
                            "worse within sampling noise only warns.")
def recommender_beats_popularity(recommender_model: TrainedModel) -> dg.AssetCheckResult:
    return common.verdict_check_result(recommender_model, common.float_metadata(
        {**recommender_model.metrics, **{f"popularity_{k}": v for k, v in recommender_model.baseline_metrics.items()}}))


REC_TYPES = {"customer_key": "varchar", "rank": "integer", "product_id": "varchar", "score": "double",
             "source": "varchar", "model_run_id": "varchar", rescoring.FINGERPRINT: "ubigint"}


class RecommendationsConfig(RecommenderConfig):
    # Score every customer even when the model and most customers' purchases are unchanged.
    rescore_all: bool = False


def reason_to_rescore_all(con, config: RecommendationsConfig, n_items: int) -> str | None:
    """The run asks for it, or the stored lists' length differs from this run's (fingerprints cannot see that)."""
    if config.rescore_all:
        return "rescore_all requested"
    if "rank" not in common.table_columns(con, "recommendations"):
        return None  # no table yet: rescoring.plan says so
    stored = con.execute(f"select max(rank) from {common.SCHEMA}.recommendations").fetchone()[0]
    wanted = min(config.top_n, n_items)
    return None if stored in (None, wanted) else f"top_n changed: lists of {stored}, now {wanted}"


@dg.asset(
    key=common.ml_key("recommendations"),
    ins={"recommender_model": dg.AssetIn(common.ml_key("recommender_model"))},
    deps=[common.mart("dim_customers"), common.mart("fct_order_items")],
    group_name=common.GROUP, kinds=common.KINDS, owners=common.OWNERS, pool=common.POOL,
    description="Top-N products per customer that they have not bought; source 'similar' (co-purchase) or "
                "'popular' (fallback for new customers and thin histories). With an unchanged model only the "
                "customers whose owned products changed are scored again (input_fingerprint).",
)
def recommendations(context: dg.AssetExecutionContext, config: RecommendationsConfig, warehouse: DuckDBResource,
                    recommender_model: TrainedModel) -> dg.MaterializeResult:
    model = recommender_model.model
    with warehouse.get_connection() as con:
        rescore = rescoring.plan(con, "recommendations", "customer_key", inputs.OWNED_PRODUCTS_FINGERPRINT_SQL,
                                 recommender_model.model_run_id,
                                 rescore_all=reason_to_rescore_all(con, config, len(model.items)))
        who = rescore.to_score
        # Today's purchases, not the ones the model was fitted on: never recommend what was bought since.
        purchases = inputs.purchases(con, None if rescore.everything else who)
    current = recommend.with_purchases(model, purchases)
    recs = recommend.recommend(current, who["customer_key"].tolist(), config.top_n)
    recs = recs.rename(columns={"item_id": "product_id"})
    recs["model_run_id"] = recommender_model.model_run_id
    recs[rescoring.FINGERPRINT] = recs["customer_key"].map(who.set_index("customer_key")[rescoring.FINGERPRINT])
    with warehouse.get_connection() as con:
        n = rescoring.write(con, "recommendations", "customer_key", rescore, recs, REC_TYPES)
        customers, from_similarity = con.execute(
            f"select count(distinct customer_key), avg((source = 'similar')::int) from {common.SCHEMA}.recommendations"
        ).fetchone()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": n, "model_run_id": recommender_model.model_run_id,
        "customers": int(customers), "share_from_similarity": float(from_similarity or 0.0),
        **rescore.metadata("customers"),
    })
