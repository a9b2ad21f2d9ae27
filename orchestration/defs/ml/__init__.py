"""Model assets: train, check against baselines, and write ``ml.*`` tables (models live in ``ml/``).

Each model is an asset whose value is the trained model (a ``common.TrainedModel``)
with a blocking check against its baseline; the table-writing asset downstream
takes that model as its input, so a model that fails its check never scores. A
model asset refits only when its last training is stale (``reuse``), so the daily
build scores with models the weekly ``retrain_models`` job refits.
"""

from . import churn, clv, customer_features, feedback, recommendations, segments

ml_assets = [
    customer_features.customer_features,
    segments.customer_segments,
    churn.churn_model, churn.churn_scores,
    clv.clv_model, clv.customer_clv,
    recommendations.recommender_model, recommendations.recommendations,
    feedback.feedback_model, feedback.feedback_sentiment,
]
# The assets that fit a model (and, with config, refit it); the others only score.
ml_model_assets = [
    segments.customer_segments, churn.churn_model, clv.clv_model, recommendations.recommender_model,
    feedback.feedback_model,
]
ml_asset_checks = [
    segments.customer_segments_are_stable,
    churn.churn_model_beats_baseline,
    clv.clv_model_fits_holdout,
    recommendations.recommender_beats_popularity,
    feedback.feedback_sentiment_beats_majority,
]
