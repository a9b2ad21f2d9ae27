"""Customer lifetime value: BG/NBD + Gamma-Gamma, validated on a calibration/holdout split first.

Validation: fit on orders before (reference - holdout), predict each customer's
repeat purchases in the holdout, compare with what happened. The holdout is the
churn horizon's rule: the configured length, at most a third of the window. The
scoring model is then refitted on everything before the reference date.
"""

import time

import dagster as dg
import numpy as np
import pandas as pd
from dagster_duckdb import DuckDBResource

from ml import artifacts
from ml.clv import (
    customer_lifetime_value,
    expected_transactions,
    fit_bgnbd,
    fit_clv_models,
    holdout_by_frequency,
    summary_from_purchase_days,
    with_holdout,
)

from . import common, inputs, reuse
from .common import TrainedModel, Verdict

# Total predicted holdout purchases must be within this fraction of the actual total.
HOLDOUT_TOLERANCE = 0.20


class ClvConfig(dg.Config):
    horizon_months: int = 12
    monthly_discount_rate: float = 0.01
    holdout_days: int = 90


class ClvModelConfig(ClvConfig, reuse.RetrainPolicy):
    pass


def clv_verdict(metrics: dict) -> Verdict:
    error = metrics["holdout_relative_error"]
    within = abs(error) <= HOLDOUT_TOLERANCE
    beats_naive = metrics["holdout_mae"] <= metrics["naive_holdout_mae"]
    text = (f"holdout purchases predicted {metrics['holdout_predicted']:.0f} vs actual {metrics['holdout_actual']:.0f} "
            f"({error:+.1%}, tolerance {HOLDOUT_TOLERANCE:.0%}); per-customer MAE {metrics['holdout_mae']:.3f} vs "
            f"naive past-rate {metrics['naive_holdout_mae']:.3f}")
    return Verdict(within and beats_naive, text)


def holdout_window(reference: pd.Timestamp, holdout_days: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(calibration end, holdout end), both included in their periods."""
    # rfm summaries include the calibration end day, so the calibration ends the day before the holdout starts.
    return reference - pd.Timedelta(days=holdout_days + 1), reference - pd.Timedelta(days=1)


def validate_holdout(calibration_days: pd.DataFrame, holdout_purchase_days: pd.Series, reference: pd.Timestamp,
                     holdout_days: int) -> tuple[dict, pd.DataFrame]:
    """Fit on the calibration buyers' purchase days, predict their holdout purchase days, compare."""
    cal_end, hold_end = holdout_window(reference, holdout_days)
    summary = with_holdout(summary_from_purchase_days(calibration_days, cal_end), holdout_purchase_days,
                           cal_end, hold_end)
    bg = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    predicted = expected_transactions(bg, summary["duration_holdout"].iloc[0], summary["frequency"],
                                      summary["recency"], summary["T"])
    actual = summary["frequency_holdout"].to_numpy(dtype=float)
    # Naive baseline: each customer keeps buying at their calibration-period rate.
    naive = summary["frequency"] / summary["T"].clip(lower=1.0) * summary["duration_holdout"]
    metrics = {
        "holdout_calibration_end": str(cal_end.date()), "holdout_days": holdout_days,
        "holdout_customers": len(summary), "holdout_actual": float(actual.sum()),
        "holdout_predicted": float(predicted.sum()),
        "holdout_relative_error": float(predicted.sum() / max(actual.sum(), 1.0) - 1.0),
        "holdout_mae": float(np.mean(np.abs(predicted - actual))),
        "naive_holdout_mae": float(np.mean(np.abs(naive - actual))),
        **{f"holdout_bgnbd_{k}": v for k, v in bg.as_dict().items() if k in ("r", "alpha", "a", "b")},
    }
    return metrics, holdout_by_frequency(summary, predicted)


HOLDOUT_TYPES = {"frequency_bucket": "varchar", "n_customers": "bigint", "actual": "double", "predicted": "double",
                 "model_run_id": "varchar"}


@dg.asset(
    key=common.ml_key("clv_model"),
    group_name=common.GROUP, kinds=common.KINDS, owners=common.OWNERS, pool=common.POOL,
    deps=[common.mart("fct_orders")],
    description="BG/NBD (purchase count, probability alive) and Gamma-Gamma (spend) fitted by maximum likelihood, "
                "validated on a calibration/holdout split; handed to ml/customer_clv.",
)
def clv_model(context: dg.AssetExecutionContext, config: ClvModelConfig, warehouse: DuckDBResource) -> dg.Output:
    started = time.perf_counter()
    with warehouse.get_connection() as con:
        reference = common.reference_date(con)
        last, decision = reuse.reuse_last_model(con, "clv", config, reference)
        if last is not None:
            return reuse.reused_output(last, decision)
        window = int((reference - common.first_order_date(con)).days)
        holdout_days = min(config.holdout_days, window // 3)
        cal_end, hold_end = holdout_window(reference, holdout_days)
        # One row per buyer for each period; the orders stay in DuckDB.
        calibration_days = inputs.clv_purchase_days(con, cal_end.date())
        holdout_purchase_days = inputs.clv_holdout_days(con, cal_end.date(), hold_end.date())
        # Fitted through the reference day's eve, the same "strictly before" cut the other models use.
        purchase_days = inputs.clv_purchase_days(con, hold_end.date())
    metrics, by_frequency = validate_holdout(calibration_days, holdout_purchase_days, reference, holdout_days)
    bg, gg = fit_clv_models(summary_from_purchase_days(purchase_days, hold_end))
    fitted = {**{f"bgnbd_{k}": v for k, v in bg.as_dict().items()},
              **{f"gamma_gamma_{k}": v for k, v in gg.as_dict().items()}}
    metrics.update(fitted)
    verdict = clv_verdict(metrics)
    params = {**reuse.model_params(config), "holdout_days_used": holdout_days, "time_unit": "weeks"}
    snapshot = artifacts.data_sha(calibration_days, holdout_purchase_days.reset_index(), purchase_days)
    model = {"bgnbd": bg, "gamma_gamma": gg, "holdout_by_frequency": by_frequency}
    code, path = common.save_artifact(model, "clv", snapshot, metrics, params)
    trained = TrainedModel("clv", model, metrics, {"naive_holdout_mae": metrics["naive_holdout_mae"],
                                                   "tolerance": HOLDOUT_TOLERANCE},
                           params, verdict, common.new_model_run_id(context, "clv"), code, snapshot, str(path),
                           str(reference.date()))
    with warehouse.get_connection() as con:
        common.record_model_run(con, trained, context.run.run_id)
        # A table, not only metadata: the customer-profile report charts predicted vs actual from it.
        common.write_table(con, "clv_holdout_by_frequency", by_frequency.assign(model_run_id=trained.model_run_id),
                           HOLDOUT_TYPES)
    return dg.Output(trained, metadata={
        **trained.run_metadata(),
        **common.float_metadata({k: v for k, v in metrics.items() if k.startswith(("holdout_", "naive_", "bgnbd_",
                                                                                   "gamma_gamma_"))}),
        "holdout_by_frequency": dg.MetadataValue.md(by_frequency.round(3).to_markdown(index=False)),
        "training_seconds": round(time.perf_counter() - started, 1),
        "retrain_decision": decision,
    })


@dg.asset_check(asset=clv_model, blocking=True,
                description=f"Calibration/holdout: total predicted repeat purchases within {HOLDOUT_TOLERANCE:.0%} "
                            "of actual and per-customer error no worse than the naive past-rate forecast.")
def clv_model_fits_holdout(clv_model: TrainedModel) -> dg.AssetCheckResult:
    m = clv_model.metrics
    return common.verdict_check_result(clv_model, common.float_metadata(
        {k: m[k] for k in ("holdout_actual", "holdout_predicted", "holdout_relative_error", "holdout_mae",
                           "naive_holdout_mae")}))


CLV_TYPES = {"customer_key": "varchar", "prob_alive": "double", "expected_purchases": "double",
             "expected_spend": "double", "clv": "double", "model_run_id": "varchar", "scored_at": "timestamp"}


@dg.asset(
    key=common.ml_key("customer_clv"),
    ins={"clv_model": dg.AssetIn(common.ml_key("clv_model"))},
    deps=[common.mart("fct_orders")],
    group_name=common.GROUP, kinds=common.KINDS, owners=common.OWNERS, pool=common.POOL,
    description="Per customer who has bought: probability alive, expected purchases and spend per purchase over the "
                "horizon, and discounted CLV (currency of net revenue).",
)
def customer_clv(context: dg.AssetExecutionContext, config: ClvConfig, warehouse: DuckDBResource,
                 clv_model: TrainedModel) -> dg.MaterializeResult:
    from ml.clv import summary_from_purchase_days

    with warehouse.get_connection() as con:
        reference = common.reference_date(con)
        last_day = reference - pd.Timedelta(days=1)
        purchase_days = inputs.clv_purchase_days(con, last_day.date())
    summary = summary_from_purchase_days(purchase_days, last_day)
    scored = customer_lifetime_value(summary, clv_model.model["bgnbd"], clv_model.model["gamma_gamma"],
                                     config.horizon_months, config.monthly_discount_rate)
    scored["model_run_id"] = clv_model.model_run_id
    scored["scored_at"] = common.now_utc()
    with warehouse.get_connection() as con:
        n = common.write_table(con, "customer_clv", scored, CLV_TYPES)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": n, "model_run_id": clv_model.model_run_id,
        "horizon_months": config.horizon_months, "monthly_discount_rate": config.monthly_discount_rate,
        "total_clv": float(scored["clv"].sum()), "mean_clv": float(scored["clv"].mean()),
        "mean_prob_alive": float(scored["prob_alive"].mean()),
    })
