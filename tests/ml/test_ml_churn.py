import numpy as np
import pandas as pd
import pytest

from ml.churn import churn_dataset, churn_labels, evaluate, score_customers, top_drivers, train_and_validate
from ml.features import customer_features

START, END = pd.Timestamp("2023-01-01"), pd.Timestamp("2024-12-31")
TRAIN_CUTOFF, VALID_CUTOFF, H = "2024-05-01", "2024-08-01", 90


def simulate_orders(n_customers: int = 1200, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Orders with a planted churn signal.

    Each customer buys as a Poisson process and, after every order, leaves with a
    probability that jumps when two traits meet (app buyer AND heavy discount user),
    an interaction a linear model cannot express but trees can.
    """
    rng = np.random.default_rng(seed)
    rows, activity = [], []
    for c in range(n_customers):
        cid = f"c{c:05d}"
        channel = rng.choice(["web", "app", "store"])
        discount_lover = rng.random() < 0.4
        rate = rng.gamma(2.0, 1.0 / 40.0)  # orders per day, mean one per 20 days
        p_leave = 0.02 + (0.35 if (channel == "app" and discount_lover) else 0.0) + rng.uniform(0, 0.05)
        t = START + pd.Timedelta(days=float(rng.uniform(0, 300)))
        while t < END:
            disc = rng.uniform(0.2, 0.4) if discount_lover else rng.uniform(0, 0.05)
            gross = float(rng.lognormal(4, 0.5))
            rows.append((f"o{len(rows):07d}", cid, t, channel, "completed", gross * (1 - disc), gross * disc))
            if rng.random() < 0.5:
                activity.append((cid, t - pd.Timedelta(hours=float(rng.uniform(1, 48))), "session"))
            if rng.random() < p_leave:
                break
            t = t + pd.Timedelta(days=float(rng.exponential(1.0 / rate)))
    orders = pd.DataFrame(
        rows, columns=["order_id", "customer_key", "order_date", "channel", "status", "net_revenue", "discount_amount"]
    )
    return orders, pd.DataFrame(activity, columns=["customer_key", "event_time", "activity_type"])


@pytest.fixture(scope="module")
def data():
    return simulate_orders()


@pytest.fixture(scope="module")
def result(data):
    orders, activity = data
    return train_and_validate(orders, TRAIN_CUTOFF, VALID_CUTOFF, H, activity=activity, seed=0, active_within_days=180)


def test_features_do_not_see_the_future(data):
    orders, activity = data
    cutoff = pd.Timestamp(TRAIN_CUTOFF)
    full = customer_features(orders, cutoff, activity=activity)
    past = customer_features(
        orders[orders["order_date"] < cutoff], cutoff, activity=activity[activity["event_time"] < cutoff]
    )
    pd.testing.assert_frame_equal(full, past)
    # Shuffling or inflating post-cutoff data must not move a single feature either.
    future = orders[orders["order_date"] >= cutoff].copy()
    future["net_revenue"] *= 100
    noisy = pd.concat([orders[orders["order_date"] < cutoff], future]).sample(frac=1, random_state=1)
    pd.testing.assert_frame_equal(customer_features(noisy, cutoff, activity=activity), full)


def test_labels_follow_the_window():
    orders = pd.DataFrame(
        {
            "customer_key": ["a", "a", "b", "b", "c", "d"],
            "order_date": pd.to_datetime(["2024-01-01", "2024-02-10", "2024-01-05", "2024-04-15", "2024-01-20", "2024-02-02"]),
            "net_revenue": 10.0,
            "status": ["completed", "completed", "completed", "completed", "completed", "completed"],
        }
    )
    labels = churn_labels(orders, "2024-02-01", 30).set_index("customer_key")["churned"]
    # a bought inside the window; b only after it; c never again; d was not a customer yet.
    assert labels.to_dict() == {"a": 0, "b": 1, "c": 1}


def test_overlapping_windows_are_refused(data):
    orders, _ = data
    with pytest.raises(ValueError, match="overlaps"):
        train_and_validate(orders, "2024-06-01", "2024-07-01", 90)


def test_gbm_at_least_matches_the_logistic_baseline(result):
    m = result.metrics.set_index("model")
    assert m.loc["logistic", "auc"] > 0.7  # the planted signal is learnable at all
    assert m.loc["gbm", "auc"] >= m.loc["logistic", "auc"] - 0.005
    assert m.loc["gbm", "pr_auc"] >= m.loc["logistic", "pr_auc"] - 0.005
    assert m.loc["gbm", "lift_top_decile"] > 2.0
    assert m.loc["gbm", "brier"] <= m.loc["logistic", "brier"] + 0.005
    assert result.best in ("gbm", "logistic")


def test_probabilities_are_calibrated(result):
    scores = result.validation_scores
    for name in ("logistic", "gbm"):
        p = scores[f"p_{name}"]
        assert p.between(0, 1).all()
        # Mean prediction near the observed rate; Brier beats always predicting the rate.
        assert abs(p.mean() - scores["churned"].mean()) < 0.05
        base = scores["churned"].mean()
        assert evaluate(scores["churned"], p)["brier"] < base * (1 - base)


def test_scores_are_deterministic(data, result):
    orders, activity = data
    again = train_and_validate(orders, TRAIN_CUTOFF, VALID_CUTOFF, H, activity=activity, seed=0, active_within_days=180)
    pd.testing.assert_frame_equal(again.validation_scores, result.validation_scores)


def test_scoring_and_drivers(data, result):
    orders, activity = data
    feats = customer_features(orders, VALID_CUTOFF, activity=activity)
    scored = score_customers(result.best_model, feats)
    assert list(scored.columns) == ["customer_key", "churn_probability", "risk_decile"]
    assert set(scored["risk_decile"]) == set(range(1, 11))
    drivers = top_drivers(result.models["logistic"], feats, n=3)
    assert list(drivers.columns) == ["customer_key", "rank", "feature", "contribution"]
    assert (drivers["contribution"] > 0).all() and drivers["rank"].between(1, 3).all()
    # The long-silent customer is flagged for recency, not for something incidental.
    riskiest = feats.loc[feats["recency_days"].idxmax(), "customer_key"]
    assert "recency_days" in set(drivers.loc[drivers["customer_key"] == riskiest, "feature"])


def test_evaluate_lift_and_metrics():
    y = np.array([1] * 10 + [0] * 90)
    perfect = evaluate(y, y.astype(float))
    assert perfect["auc"] == 1.0 and perfect["lift_top_decile"] == pytest.approx(10.0)
    with pytest.raises(ValueError, match="both"):
        evaluate(np.zeros(5), np.zeros(5))
