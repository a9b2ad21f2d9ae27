"""Non-contractual churn: will a customer buy again within H days of a cutoff?

Customers do not announce that they leave, so "churned" is defined
behaviourally: someone who bought before the cutoff and makes no purchase in
[cutoff, cutoff + H days). Features come from ``ml.features.customer_features_in``
at the cutoff, which sees only rows strictly before it. Models are validated
forward in time: trained at an earlier cutoff whose label window closes before
the later validation cutoff, so no validation outcome is ever seen in training.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ml.features import (
    NON_PURCHASE_STATUSES,
    FeatureSources,
    customer_features_in,
    registered,
    relation_columns,
    sql_list,
)

# Counts, money and durations are heavy-tailed; the logistic baseline is linear
# in its inputs, so it gets them on a log scale (trees do not care).
_LOG_PREFIXES = ("recency_days", "tenure_days", "frequency", "monetary", "avg_order_value",
                 "inter_purchase_days", "orders_last_", "revenue_last_", "activity_")


def churn_labels_in(con: duckdb.DuckDBPyConnection, orders: str, cutoff, horizon_days: int) -> pd.DataFrame:
    """customer_key, churned (1 = no purchase in [cutoff, cutoff + horizon_days)), from the ``orders`` relation.

    Only customers with a purchase before the cutoff are labelled: someone not
    yet acquired cannot churn.
    """
    start = pd.Timestamp(cutoff)
    end = start + pd.Timedelta(days=horizon_days)
    purchase = (f"and coalesce(cast(status as varchar), '') not in ({sql_list(sorted(NON_PURCHASE_STATUSES))})"
                if "status" in relation_columns(con, orders) else "")
    return con.execute(f"""
        select customer_key, cast(count(*) filter (where order_date >= $start) = 0 as bigint) as churned
        from (select customer_key, cast(order_date as timestamp) as order_date from {orders}
              where customer_key is not null {purchase}) o
        where order_date < $end
        group by customer_key
        having count(*) filter (where order_date < $start) > 0
        order by customer_key""", {"start": start.to_pydatetime(), "end": end.to_pydatetime()}).df()


def churn_labels(orders: pd.DataFrame, cutoff, horizon_days: int) -> pd.DataFrame:
    """``churn_labels_in`` over an orders frame (customer_key, order_date, optional status)."""
    with registered(orders) as (con, sources):
        return churn_labels_in(con, sources.orders, cutoff, horizon_days)


def churn_dataset_in(
    con: duckdb.DuckDBPyConnection,
    sources: FeatureSources,
    cutoff,
    horizon_days: int,
    active_within_days: int | None = None,
) -> pd.DataFrame:
    """Features at ``cutoff`` joined to the label; columns of customer_features + churned.

    ``active_within_days`` keeps only customers who bought in that many days before
    the cutoff: long-gone customers are trivially "churned" and would flatter AUC
    while telling the retention team nothing.
    """
    feats = customer_features_in(con, sources, cutoff)
    if active_within_days is not None:
        feats = feats[feats["recency_days"] <= active_within_days]
    return feats.merge(churn_labels_in(con, sources.orders, cutoff, horizon_days), on="customer_key", how="inner")


def churn_dataset(
    orders: pd.DataFrame,
    cutoff,
    horizon_days: int,
    order_items: pd.DataFrame | None = None,
    activity: pd.DataFrame | None = None,
    active_within_days: int | None = None,
) -> pd.DataFrame:
    """``churn_dataset_in`` over pandas frames."""
    with registered(orders, order_items, activity) as (con, sources):
        return churn_dataset_in(con, sources, cutoff, horizon_days, active_within_days)


def _design(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    X = frame.reindex(columns=columns).astype(float).copy()
    # Columns unseen at the training cutoff (a new category) are dropped by reindex;
    # ones missing now (a category with no sales yet) are 0 share, not unknown.
    X = X.fillna({c: 0.0 for c in columns if not c.startswith(("recency_days", "inter_purchase_days"))})
    X = X.fillna(X.max()).fillna(0.0)
    logged = [c for c in columns if c.startswith(_LOG_PREFIXES)]
    X[logged] = np.log1p(X[logged].clip(lower=0))
    return X.to_numpy()


def evaluate(y_true, scores) -> dict[str, float]:
    """auc, pr_auc, brier, lift_top_decile (churn rate in the top 10% / overall), base_rate."""
    y = np.asarray(y_true, dtype=int)
    s = np.asarray(scores, dtype=float)
    if len(np.unique(y)) < 2:
        raise ValueError("evaluation needs both churned and retained customers in the window")
    n_top = max(1, int(np.ceil(0.1 * len(s))))
    # Stable sort with a fixed tie-break (original order) keeps lift deterministic.
    top = np.argsort(-s, kind="stable")[:n_top]
    return {
        "auc": float(roc_auc_score(y, s)),
        "pr_auc": float(average_precision_score(y, s)),
        "brier": float(brier_score_loss(y, s)),
        "lift_top_decile": float(y[top].mean() / y.mean()),
        "base_rate": float(y.mean()),
    }


@dataclass
class ChurnModel:
    name: str
    columns: list[str]
    calibrated: CalibratedClassifierCV
    explainer: object | None  # full-data logistic pipeline, for drivers

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return self.calibrated.predict_proba(_design(features, self.columns))[:, 1]


CALIBRATION_FOLDS = 3


def _calibrated(estimator, X, y, seed: int, method: str) -> CalibratedClassifierCV:
    # Cross-fitted calibration: the calibrator is fitted on out-of-fold predictions (each made by a
    # model that did not see the customer), so probabilities are not overconfident. One model fitted
    # on all rows then scores (ensemble=False), not the five fold models: every customer is scored
    # every day, and five gradient-boosting models cost five times the prediction. At bench scale L
    # (667k validation customers) scoring took 14 s of CPU instead of 49, fitting 276 s instead of 250,
    # for the same AUC (0.857) and Brier score (0.110) and a PR-AUC of 0.669 instead of 0.673.
    # Every row gets an out-of-fold prediction whatever the number of folds; fewer folds only give the
    # fold models less data. At L three folds fitted in 139 s of CPU instead of 219, same AUC and Brier.
    cv = StratifiedKFold(n_splits=CALIBRATION_FOLDS, shuffle=True, random_state=seed)
    return CalibratedClassifierCV(estimator, method=method, cv=cv, ensemble=False).fit(X, y)


def fit_churn_models(
    train: pd.DataFrame, seed: int = 0, calibration: str = "isotonic"
) -> dict[str, ChurnModel]:
    """Fit the logistic baseline and the gradient-boosting model, both calibrated.

    ``train`` is a ``churn_dataset`` frame. Returns {"logistic": ..., "gbm": ...}.
    """
    columns = [c for c in train.select_dtypes("number").columns if c not in ("customer_key", "churned")]
    X = _design(train, columns)
    y = train["churned"].to_numpy(dtype=int)
    logistic = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    gbm = HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=300, max_leaf_nodes=15, min_samples_leaf=30,
        l2_regularization=1.0, early_stopping=False, random_state=seed,
    )
    explainer = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)).fit(X, y)
    return {
        "logistic": ChurnModel("logistic", columns, _calibrated(logistic, X, y, seed, calibration), explainer),
        "gbm": ChurnModel("gbm", columns, _calibrated(gbm, X, y, seed, calibration), explainer),
    }


def top_drivers(model: ChurnModel, features: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    """Per-customer reasons for a high churn score.

    Contribution = logistic coefficient x the customer's standardised value: the
    exact additive decomposition of the baseline's log-odds relative to an
    average customer, so the numbers mean something without a sampling-based
    explainer. They describe the transparent baseline; for the GBM they are a
    readable proxy, not its exact attribution.
    Output columns: customer_key, rank, feature, contribution (log-odds, > 0 = towards churn).
    """
    scaler, lr = model.explainer.named_steps["standardscaler"], model.explainer.named_steps["logisticregression"]
    z = scaler.transform(_design(features, model.columns))
    contrib = z * lr.coef_[0]
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :n]
    top = np.take_along_axis(contrib, order, axis=1)
    customer, slot = np.nonzero(top > 0)  # row-major: by customer, then rank
    return pd.DataFrame({"customer_key": features["customer_key"].to_numpy()[customer],
                         "rank": (slot + 1).astype("int64"),
                         "feature": np.asarray(model.columns, dtype=object)[order[customer, slot]],
                         "contribution": top[customer, slot].astype(float)})


@dataclass
class ChurnResult:
    models: dict[str, ChurnModel]
    metrics: pd.DataFrame  # model, auc, pr_auc, brier, lift_top_decile, base_rate, n
    best: str
    validation_scores: pd.DataFrame  # customer_key, churned, p_logistic, p_gbm

    @property
    def best_model(self) -> ChurnModel:
        return self.models[self.best]


def check_windows(train_cutoff, valid_cutoff, horizon_days: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The two cutoffs as timestamps; refuses a training label window that reaches the validation cutoff."""
    t0, t1 = pd.Timestamp(train_cutoff), pd.Timestamp(valid_cutoff)
    if t0 + pd.Timedelta(days=horizon_days) > t1:
        raise ValueError(
            f"train label window {t0.date()} + {horizon_days}d overlaps validation cutoff {t1.date()}; "
            "move train_cutoff earlier or shorten horizon_days"
        )
    return t0, t1


def fit_and_validate(train: pd.DataFrame, valid: pd.DataFrame, seed: int = 0,
                     calibration: str = "isotonic") -> ChurnResult:
    """Fit on the ``train`` churn dataset, score ``valid``; pick the model by PR-AUC.

    PR-AUC decides because the campaign acts on the riskiest few, where precision
    matters; AUC and Brier are reported alongside.
    """
    models = fit_churn_models(train, seed, calibration)
    scores = valid[["customer_key", "churned"]].copy()
    rows = []
    for name, model in models.items():
        p = model.predict_proba(valid)
        scores[f"p_{name}"] = p
        rows.append({"model": name, **evaluate(valid["churned"], p), "n": len(valid)})
    metrics = pd.DataFrame(rows)
    best = str(metrics.sort_values(["pr_auc", "model"], ascending=[False, True]).iloc[0]["model"])
    return ChurnResult(models, metrics, best, scores)


def train_and_validate(
    orders: pd.DataFrame,
    train_cutoff,
    valid_cutoff,
    horizon_days: int = 90,
    order_items: pd.DataFrame | None = None,
    activity: pd.DataFrame | None = None,
    seed: int = 0,
    calibration: str = "isotonic",
    active_within_days: int | None = None,
) -> ChurnResult:
    """Train at ``train_cutoff``, validate at ``valid_cutoff`` (``fit_and_validate``) on pandas frames."""
    t0, t1 = check_windows(train_cutoff, valid_cutoff, horizon_days)
    with registered(orders, order_items, activity) as (con, sources):
        train = churn_dataset_in(con, sources, t0, horizon_days, active_within_days)
        valid = churn_dataset_in(con, sources, t1, horizon_days, active_within_days)
    return fit_and_validate(train, valid, seed, calibration)


def score_customers(model: ChurnModel, features: pd.DataFrame) -> pd.DataFrame:
    """customer_key, churn_probability, risk_decile (10 = riskiest) for a feature frame."""
    p = model.predict_proba(features)
    ranks = pd.Series(p).rank(method="first")
    return pd.DataFrame(
        {
            "customer_key": features["customer_key"].to_numpy(),
            "churn_probability": p,
            "risk_decile": np.ceil(ranks / len(p) * 10).astype(int).clip(1, 10).to_numpy(),
        }
    )
