"""The baseline verdicts behind the blocking checks, on small generated data (no warehouse needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from landing.generate.text import feedback_text
from orchestration.defs.ml import churn, clv, feedback, recommendations


def _survey_comments(n=240, seed=0):
    rng = np.random.default_rng(seed)
    scores = rng.choice([0, 2, 4, 5, 6, 9, 10], size=n)
    texts = [feedback_text("positive" if s >= 9 else "negative", "zh" if i % 2 else "en", rng)
             for i, s in enumerate(scores)]
    return pd.DataFrame({"feedback_id": [f"survey:{i}" for i in range(n)], "feedback_source": "survey",
                         "customer_key": None, "text": texts, "nps_score": scores})


def test_sentiment_beats_majority_on_real_labels_and_fails_on_shuffled_ones():
    comments = _survey_comments()
    _, metrics = feedback.train_feedback_models(comments, seed=0, n_topics=4)
    assert feedback.sentiment_verdict(metrics).passed is True
    shuffled = comments.assign(nps_score=np.random.default_rng(1).permutation(comments["nps_score"].to_numpy()))
    _, noise = feedback.train_feedback_models(shuffled, seed=0, n_topics=4)
    assert feedback.sentiment_verdict(noise).passed is False


def test_sentiment_is_not_judged_without_enough_scored_comments():
    models, metrics = feedback.train_feedback_models(_survey_comments(n=12), seed=0, n_topics=4)
    assert models["sentiment"] is None
    assert feedback.sentiment_verdict(metrics).passed is None


def _churn_metrics(auc, pr_auc, brier, logistic_pr_auc=0.30, base=0.25):
    return pd.DataFrame([
        {"model": "logistic", "auc": 0.70, "pr_auc": logistic_pr_auc, "brier": 0.18, "base_rate": base},
        {"model": "gbm", "auc": auc, "pr_auc": pr_auc, "brier": brier, "base_rate": base},
    ])


@pytest.mark.parametrize("auc, pr_auc, brier, passed", [
    (0.80, 0.50, 0.15, True),
    (0.52, 0.50, 0.15, False),   # ranks no better than chance
    (0.80, 0.25, 0.15, False),   # precision no better than the base rate
    (0.80, 0.50, 0.19, False),   # probabilities worse than always saying 25%
    (0.80, 0.29, 0.15, False),   # loses to the logistic baseline
])
def test_churn_verdict(auc, pr_auc, brier, passed):
    assert churn.churn_verdict(_churn_metrics(auc, pr_auc, brier), "gbm").passed is passed


def test_churn_brier_within_sampling_noise_of_the_constant_forecast_is_not_a_failure():
    # base rate 0.3 on 400 validation customers: the constant forecast's Brier (0.21) has a standard
    # error of about 0.0092, so 0.2106 is a tie while 0.24 is a real calibration failure
    def verdict(brier):
        metrics = _churn_metrics(0.62, 0.41, brier, logistic_pr_auc=0.40, base=0.3).assign(n=400)
        return churn.churn_verdict(metrics, "gbm")
    assert verdict(0.2106).passed is True
    assert verdict(0.24).passed is False and "Brier" in verdict(0.24).reason


def test_churn_cutoffs_fit_inside_the_data_window():
    first, ref = pd.Timestamp("2026-08-03"), pd.Timestamp("2026-11-01")
    cut = churn.churn_cutoffs(first, ref, 90)
    assert cut["horizon_days"] == 30
    assert cut["train_cutoff"] - first >= pd.Timedelta(days=30)
    assert churn.churn_cutoffs(pd.Timestamp("2025-11-01"), ref, 90)["valid_cutoff"] == ref - pd.Timedelta(days=90)
    with pytest.raises(ValueError, match="at least 21"):
        churn.churn_cutoffs(ref - pd.Timedelta(days=10), ref, 90)


def _rec_eval(knn_p, pop_p, knn_r, pop_r):
    return pd.DataFrame([
        {"model": "item_knn", "precision_at_n": knn_p, "recall_at_n": knn_r, "n_customers": 500, "n": 10},
        {"model": "popularity", "precision_at_n": pop_p, "recall_at_n": pop_r, "n_customers": 500, "n": 10},
    ])


def test_recommender_verdict_blocks_only_a_significant_loss():
    assert recommendations.recommender_verdict(_rec_eval(0.04, 0.02, 0.2, 0.1),
                                               {"mean_hit_difference": 0.2, "hit_difference_se": 0.02}).passed
    noisy = recommendations.recommender_verdict(_rec_eval(0.016, 0.022, 0.09, 0.11),
                                                {"mean_hit_difference": -0.06, "hit_difference_se": 0.04})
    assert noisy.passed is None
    worse = recommendations.recommender_verdict(_rec_eval(0.01, 0.03, 0.05, 0.15),
                                                {"mean_hit_difference": -0.2, "hit_difference_se": 0.03})
    assert worse.passed is False


def test_recommender_beats_popularity_on_co_purchase_structure():
    rng = np.random.default_rng(0)
    rows = []
    for c in range(400):
        cluster = rng.integers(0, 20)
        items = 5 * cluster + rng.choice(5, size=3, replace=False)
        for day, item in enumerate(items):
            rows.append((f"C{c}", f"P{item:03d}", pd.Timestamp("2026-01-01") + pd.Timedelta(days=day)))
    purchases = pd.DataFrame(rows, columns=["customer_key", "item_id", "order_date"])
    evaluation, paired = recommendations.paired_evaluation(purchases, 5, 50)
    assert recommendations.recommender_verdict(evaluation, paired).passed is True
    shuffled = purchases.assign(item_id=rng.permutation(purchases["item_id"].to_numpy()))
    evaluation, paired = recommendations.paired_evaluation(shuffled, 5, 50)
    assert recommendations.recommender_verdict(evaluation, paired).passed is not True


def test_clv_verdict_tolerance():
    good = {"holdout_relative_error": 0.05, "holdout_predicted": 105, "holdout_actual": 100, "holdout_mae": 1.0,
            "naive_holdout_mae": 1.2}
    assert clv.clv_verdict(good).passed is True
    assert clv.clv_verdict({**good, "holdout_relative_error": 0.35, "holdout_predicted": 135}).passed is False
    assert clv.clv_verdict({**good, "holdout_mae": 1.3}).passed is False
