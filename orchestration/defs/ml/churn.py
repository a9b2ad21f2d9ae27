"""Churn: train at two historical cutoffs, check against baselines, score everyone at the reference date.

Cutoffs come from the data window [first order, reference): validation cutoff =
reference - H, train cutoff = reference - 2H, so the validation labels are the
last H days and the training labels the H days before them; no label window
overlaps the next cutoff. H is the configured horizon, shortened to a third of
the window when the data is too short (the training cutoff must still have as
much history before it as the label window is long).
"""

import time
from typing import Optional

import dagster as dg
import numpy as np
import pandas as pd
from dagster_duckdb import DuckDBResource

from ml import artifacts, churn

from . import common, customer_features, inputs, reuse
from .common import TrainedModel, Verdict

# A served model must beat a constant base-rate forecast by these margins; a
# shuffled-label model lands around AUC 0.5 and a worse Brier than the constant.
MIN_AUC = 0.55
MIN_PR_AUC_LIFT = 1.05


class ChurnConfig(reuse.RetrainPolicy):
    horizon_days: int = 90  # H: "churned" = no purchase in the H days after a cutoff
    seed: int = 0
    active_within_days: Optional[int] = None  # train/validate only on customers who bought this recently


def churn_cutoffs(first_order: pd.Timestamp, reference: pd.Timestamp, horizon_days: int) -> dict:
    window = int((reference - first_order).days)
    horizon = min(horizon_days, window // 3)
    if horizon < 7:
        raise ValueError(f"the order history spans {window} days; churn needs at least 21 (three 7-day windows)")
    return {
        "horizon_days": horizon,
        "valid_cutoff": reference - pd.Timedelta(days=horizon),
        "train_cutoff": reference - pd.Timedelta(days=2 * horizon),
        "reference_date": reference,
        "window_days": window,
    }


def churn_verdict(metrics: pd.DataFrame, served: str) -> Verdict:
    """The served model must beat the base-rate forecast, and must not lose to the logistic baseline."""
    by = metrics.set_index("model")
    s, base = by.loc[served], float(by.loc[served, "base_rate"])
    constant_brier = base * (1 - base)
    problems = []
    if s["auc"] < MIN_AUC:
        problems.append(f"AUC {s['auc']:.3f} < {MIN_AUC}")
    if s["pr_auc"] < MIN_PR_AUC_LIFT * base:
        problems.append(f"PR-AUC {s['pr_auc']:.3f} < {MIN_PR_AUC_LIFT} x base rate {base:.3f}")
    # The constant forecast's Brier score is itself an estimate: on a few hundred validation customers
    # a calibrated model with real ranking skill can land a hair above it by chance. Worse by more
    # than two standard errors of that estimate (per-customer loss (y - b)^2 has variance
    # b(1-b)(1-2b)^2) is a calibration failure; no skill at all is caught by AUC and PR-AUC.
    n = float(s["n"]) if "n" in s and s["n"] == s["n"] and s["n"] else float("inf")
    brier_noise = 2 * np.sqrt(base * (1 - base) * (1 - 2 * base) ** 2 / n)
    if s["brier"] > constant_brier + brier_noise:
        problems.append(f"Brier {s['brier']:.4f} > base-rate forecast's {constant_brier:.4f}"
                        + (f" + noise {brier_noise:.4f}" if brier_noise else ""))
    if served != "logistic" and s["pr_auc"] < by.loc["logistic", "pr_auc"]:
        problems.append(f"{served} PR-AUC {s['pr_auc']:.3f} < logistic {by.loc['logistic', 'pr_auc']:.3f}")
    if problems:
        return Verdict(False, f"churn model '{served}' does not beat its baselines: " + "; ".join(problems))
    return Verdict(True, f"'{served}' AUC {s['auc']:.3f}, PR-AUC {s['pr_auc']:.3f} vs base rate {base:.3f}, "
                         f"Brier {s['brier']:.4f} vs {constant_brier:.4f}; logistic PR-AUC {by.loc['logistic', 'pr_auc']:.3f}")


# Training reads the customer features at past cutoffs (from their sources), scoring today's (ml/customer_features).
FEATURE_DEPS = customer_features.FEATURE_DEPS


@dg.asset(
    key=common.ml_key("churn_model"),
    group_name=common.GROUP, kinds=common.KINDS, owners=common.OWNERS, pool=common.POOL,
    deps=FEATURE_DEPS,
    description="Calibrated churn classifiers (gradient boosting vs logistic baseline) trained forward in time; "
                "the better one by validation PR-AUC is handed to ml/churn_scores.",
)
def churn_model(context: dg.AssetExecutionContext, config: ChurnConfig, warehouse: DuckDBResource) -> dg.Output:
    started = time.perf_counter()
    with warehouse.get_connection() as con:
        reference = common.reference_date(con)
        last, decision = reuse.reuse_last_model(con, "churn", config, reference)
        if last is not None:
            return reuse.reused_output(last, decision)
        cut = churn_cutoffs(common.first_order_date(con), reference, config.horizon_days)
        if cut["horizon_days"] < config.horizon_days:
            context.log.warning(f"data window is {cut['window_days']} days: churn horizon shortened from "
                                f"{config.horizon_days} to {cut['horizon_days']} days")
        datasets = [churn.churn_dataset_in(con, inputs.FEATURE_SOURCES, cutoff, cut["horizon_days"],
                                           config.active_within_days)
                    for cutoff in churn.check_windows(cut["train_cutoff"], cut["valid_cutoff"], cut["horizon_days"])]
    result = churn.fit_and_validate(*datasets, seed=config.seed)
    verdict = churn_verdict(result.metrics, result.best)
    served = result.metrics.set_index("model").loc[result.best].to_dict()
    logistic = result.metrics.set_index("model").loc["logistic"].to_dict()
    # The horizon actually used is recorded apart from the configured one, which reuse compares with the config.
    used = {("horizon_days_used" if k == "horizon_days" else k): str(v.date()) if hasattr(v, "date") else v
            for k, v in cut.items()}
    params = {**reuse.model_params(config), **used, "served_model": result.best}
    snapshot = artifacts.data_sha(*datasets)
    code, path = common.save_artifact(result, "churn", snapshot, {"served": served, "logistic": logistic}, params)
    trained = TrainedModel(
        name="churn", model=result, metrics={"model": result.best, **served}, baseline_metrics=logistic,
        params=params, verdict=verdict, model_run_id=common.new_model_run_id(context, "churn"),
        code_version=code, data_snapshot=snapshot, artifact_path=str(path), reference_date=str(reference.date()),
    )
    with warehouse.get_connection() as con:
        common.record_model_run(con, trained, context.run.run_id)
    return dg.Output(trained, metadata={
        **trained.run_metadata(),
        **common.float_metadata({k: served[k] for k in ("auc", "pr_auc", "brier", "lift_top_decile", "base_rate")}),
        **common.float_metadata({k: logistic[k] for k in ("auc", "pr_auc", "brier", "lift_top_decile")}, "logistic_"),
        "served_model": result.best,
        "validation_customers": int(served["n"]),
        "horizon_days": cut["horizon_days"],
        "train_cutoff": str(cut["train_cutoff"].date()),
        "valid_cutoff": str(cut["valid_cutoff"].date()),
        "metrics": dg.MetadataValue.md(result.metrics.round(4).to_markdown(index=False)),
        "training_seconds": round(time.perf_counter() - started, 1),
        "retrain_decision": decision,
    })


@dg.asset_check(asset=churn_model, blocking=True,
                description="The served churn model beats the base-rate forecast (AUC, PR-AUC, Brier) and is not "
                            "worse than the logistic baseline; otherwise no churn scores are written.")
def churn_model_beats_baseline(churn_model: TrainedModel) -> dg.AssetCheckResult:
    return common.verdict_check_result(churn_model, common.float_metadata(
        {"auc": churn_model.metrics["auc"], "pr_auc": churn_model.metrics["pr_auc"],
         "base_rate": churn_model.metrics["base_rate"], "logistic_pr_auc": churn_model.baseline_metrics["pr_auc"]}))


SCORE_TYPES = {"customer_key": "varchar", "churn_probability": "double", "risk_decile": "integer",
               "top_driver": "varchar", "model_run_id": "varchar", "scored_at": "timestamp"}
DRIVER_TYPES = {"customer_key": "varchar", "rank": "integer", "feature": "varchar", "contribution": "double",
                "model_run_id": "varchar"}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(common.ml_key("churn_scores"), deps=[common.ml_key("churn_model"), customer_features.customer_features],
                     group_name=common.GROUP,
                     kinds=common.KINDS, owners=common.OWNERS,
                     description="Probability that each customer who has bought makes no purchase in the next H "
                                 "days, with risk decile (10 = riskiest) and the strongest driver."),
        dg.AssetSpec(common.ml_key("churn_drivers"), deps=[common.ml_key("churn_model"), customer_features.customer_features],
                     group_name=common.GROUP,
                     kinds=common.KINDS, owners=common.OWNERS,
                     description="Top 3 reasons per customer (logistic log-odds contributions, > 0 = towards churn)."),
    ],
    ins={"churn_model": dg.AssetIn(common.ml_key("churn_model"))},
    pool=common.POOL,
)
def churn_scores(context: dg.AssetExecutionContext, warehouse: DuckDBResource, churn_model: TrainedModel):
    result = churn_model.model
    with warehouse.get_connection() as con:
        reference = common.reference_date(con)
        features = customer_features.read(con, reference)
    scores = churn.score_customers(result.best_model, features)
    drivers = churn.top_drivers(result.models["logistic"], features)
    first = drivers[drivers["rank"] == 1].set_index("customer_key")["feature"]
    scores["top_driver"] = scores["customer_key"].map(first)
    scores["model_run_id"] = drivers["model_run_id"] = churn_model.model_run_id
    scores["scored_at"] = common.now_utc()
    with warehouse.get_connection() as con:
        n = common.write_table(con, "churn_scores", scores, SCORE_TYPES)
        n_drivers = common.write_table(con, "churn_drivers", drivers, DRIVER_TYPES)
    decile_rate = scores.groupby("risk_decile")["churn_probability"].mean()
    yield dg.MaterializeResult(asset_key=common.ml_key("churn_scores"), metadata={
        "dagster/row_count": n, "model_run_id": churn_model.model_run_id, "served_model": result.best,
        "reference_date": str(reference.date()),
        "mean_churn_probability": float(np.mean(scores["churn_probability"])),
        "mean_probability_by_decile": dg.MetadataValue.json({int(k): round(float(v), 4) for k, v in decile_rate.items()}),
        "top_driver_counts": dg.MetadataValue.json(scores["top_driver"].value_counts().head(10).to_dict()),
    })
    yield dg.MaterializeResult(asset_key=common.ml_key("churn_drivers"),
                               metadata={"dagster/row_count": n_drivers, "model_run_id": churn_model.model_run_id})
