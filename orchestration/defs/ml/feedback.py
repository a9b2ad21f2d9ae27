"""Feedback text: sentiment (trained on survey comments with NPS as weak labels) and topics, Chinese and English.

The sentiment model learns from survey comments only, because only they come with
a score; it is then applied to ticket descriptions and social posts too. When a
warehouse has too few scored comments to train and evaluate on (a small demo),
sentiment stays empty and the check warns instead of blocking: there is no model
to compare with the baseline, and topics and languages are still written.
"""

import time

import dagster as dg
import numpy as np
import pandas as pd
from dagster_duckdb import DuckDBResource

from ml import artifacts, feedback_text

from . import common, inputs, rescoring, reuse
from .common import TrainedModel, Verdict

# Below this many promoter/detractor comments (or this many of the rarer class) a
# 25% held-out split has too few rows for its accuracy to mean anything.
MIN_LABELLED = 40
MIN_PER_CLASS = 8
MIN_TOPIC_TEXTS = 20


class FeedbackConfig(reuse.RetrainPolicy):
    seed: int = 0
    n_topics: int = 8


def sentiment_verdict(metrics: dict) -> Verdict:
    if "accuracy" not in metrics:
        return Verdict(None, f"not enough scored survey comments to train sentiment: {metrics['n_labelled']} "
                             f"promoter/detractor comments ({metrics['n_minority']} in the rarer class); need "
                             f"{MIN_LABELLED} and {MIN_PER_CLASS}")
    passed = metrics["accuracy"] > metrics["majority_accuracy"]
    return Verdict(bool(passed), f"held-out accuracy {metrics['accuracy']:.3f} vs majority class "
                                 f"{metrics['majority_accuracy']:.3f} (AUC {metrics['auc']:.3f}, n={metrics['n_test']})")


def train_feedback_models(feedback: pd.DataFrame, seed: int, n_topics: int) -> tuple[dict, dict]:
    surveys = feedback[feedback["feedback_source"] == "survey"]
    labels = feedback_text.nps_weak_labels(surveys["nps_score"])
    labelled = labels[~np.isnan(labels)]
    minority = int(min((labelled == 1).sum(), (labelled == 0).sum())) if len(labelled) else 0
    metrics: dict = {"n_labelled": int(len(labelled)), "n_minority": minority, "n_texts": len(feedback)}
    sentiment = None
    if len(labelled) >= MIN_LABELLED and minority >= MIN_PER_CLASS:
        sentiment = feedback_text.fit_sentiment(surveys["text"].tolist(), surveys["nps_score"].tolist(), seed)
        metrics.update(sentiment.metrics)
    topics = None
    if len(feedback) >= MIN_TOPIC_TEXTS:
        topics = feedback_text.fit_topics(feedback["text"].tolist(), n_topics, seed)
    return {"sentiment": sentiment, "topics": topics}, metrics


# Where the texts come from (inputs.FEEDBACK_SQL): the model trains on them, and scoring reads today's.
TEXT_DEPS = [common.staging("stg_survey__responses"), common.staging("stg_helpdesk__support_tickets"),
             common.staging("stg_social__mentions"), common.staging("stg_crm__customers")]


@dg.asset(
    key=common.ml_key("feedback_model"),
    group_name=common.GROUP, kinds=common.KINDS, owners=common.OWNERS, pool=common.POOL,
    deps=[*TEXT_DEPS,
          # the reference date (common.reference_date) is the latest order day
          common.mart("fct_orders")],
    description="Character n-gram sentiment classifier (NPS promoters vs detractors as weak labels, held-out "
                "evaluation) and NMF topics over survey comments, ticket descriptions and social posts.",
)
def feedback_model(context: dg.AssetExecutionContext, config: FeedbackConfig, warehouse: DuckDBResource) -> dg.Output:
    started = time.perf_counter()
    with warehouse.get_connection() as con:
        reference = common.reference_date(con)
        last, decision = reuse.reuse_last_model(con, "feedback", config, reference)
        if last is not None:
            return reuse.reused_output(last, decision)
        feedback = inputs.feedback(con)
    models, metrics = train_feedback_models(feedback, config.seed, config.n_topics)
    verdict = sentiment_verdict(metrics)
    if verdict.passed is None:
        context.log.warning(verdict.reason)
    baseline = {"majority_accuracy": metrics.get("majority_accuracy")}
    snapshot = artifacts.data_sha(feedback[["feedback_id", "text", "nps_score"]])
    params = reuse.model_params(config)
    code, path = common.save_artifact(models, "feedback", snapshot, metrics, params)
    trained = TrainedModel("feedback", models, metrics, baseline, params, verdict,
                           common.new_model_run_id(context, "feedback"), code, snapshot, str(path),
                           str(reference.date()))
    with warehouse.get_connection() as con:
        common.record_model_run(con, trained, context.run.run_id)
    topics = models["topics"]
    return dg.Output(trained, metadata={
        **trained.run_metadata(), **common.float_metadata(metrics),
        "topics": dg.MetadataValue.md(topics.terms.to_markdown(index=False) if topics else "not enough text"),
        "training_seconds": round(time.perf_counter() - started, 1),
        "retrain_decision": decision,
    })


@dg.asset_check(asset=feedback_model, blocking=True,
                description="Sentiment beats always predicting the commoner class on held-out survey comments; "
                            "warns (does not block) when there are too few scored comments to train at all.")
def feedback_sentiment_beats_majority(feedback_model: TrainedModel) -> dg.AssetCheckResult:
    return common.verdict_check_result(feedback_model, common.float_metadata(
        {k: v for k, v in feedback_model.metrics.items() if k.startswith(("accuracy", "majority", "auc", "n_"))}))


SENTIMENT_TYPES = {"feedback_id": "varchar", "feedback_source": "varchar", "customer_key": "varchar",
                   "language": "varchar", "sentiment_score": "double", "sentiment_label": "varchar",
                   "topic_id": "integer", "model_run_id": "varchar", rescoring.FINGERPRINT: "ubigint"}
TOPIC_TYPES = {"topic_id": "integer", "top_terms": "varchar", "n_feedback": "bigint", "share": "double",
               "model_run_id": "varchar"}


def score_texts(feedback: pd.DataFrame, models: dict) -> pd.DataFrame:
    texts = feedback["text"].tolist()
    out = feedback[["feedback_id", "feedback_source", "customer_key"]].reset_index(drop=True)
    out["language"] = [feedback_text.detect_language(t) for t in texts]
    if models["sentiment"] is not None and len(texts):
        scored = models["sentiment"].predict(texts)
        out["sentiment_score"] = scored["sentiment_score"].to_numpy()
        out["sentiment_label"] = scored["sentiment_label"].to_numpy()
    else:
        out["sentiment_score"], out["sentiment_label"] = np.nan, None
    topics = models["topics"]
    out["topic_id"] = topics.assign(texts)["topic"].to_numpy() if topics is not None and len(texts) else -1
    return out


def topic_table(models: dict, counts: pd.Series, n_texts: int) -> pd.DataFrame:
    """The model's topics with ``counts`` (texts per topic_id) and their share of ``n_texts``."""
    topics = models["topics"]
    if topics is None:
        return pd.DataFrame(columns=list(TOPIC_TYPES))
    terms = topics.terms.rename(columns={"topic": "topic_id"})
    terms["n_feedback"] = terms["topic_id"].map(counts).fillna(0).astype(int)
    terms["share"] = terms["n_feedback"] / max(n_texts, 1)
    return terms


class FeedbackScoringConfig(dg.Config):
    # Score every text even when the model and most texts are unchanged.
    rescore_all: bool = False


@dg.multi_asset(
    specs=[
        dg.AssetSpec(common.ml_key("feedback_sentiment"), deps=[common.ml_key("feedback_model"), *TEXT_DEPS],
                     group_name=common.GROUP, kinds=common.KINDS, owners=common.OWNERS,
                     description="Per survey comment, ticket and social post: language, P(positive), label "
                                 "(positive / neutral / negative) and topic. With an unchanged model only new "
                                 "and changed texts are scored again (input_fingerprint)."),
        dg.AssetSpec(common.ml_key("feedback_topics"), deps=[common.ml_key("feedback_model")],
                     group_name=common.GROUP, kinds=common.KINDS, owners=common.OWNERS,
                     description="Topics with their strongest terms (English words, Chinese character pairs)."),
    ],
    ins={"feedback_model": dg.AssetIn(common.ml_key("feedback_model"))},
    pool=common.POOL,
)
def feedback_sentiment(context: dg.AssetExecutionContext, config: FeedbackScoringConfig, warehouse: DuckDBResource,
                       feedback_model: TrainedModel):
    run_id = feedback_model.model_run_id
    with warehouse.get_connection() as con:
        rescore = rescoring.plan(con, "feedback_sentiment", "feedback_id", inputs.FEEDBACK_FINGERPRINT_SQL, run_id,
                                 rescore_all="rescore_all requested" if config.rescore_all else None)
        feedback = inputs.feedback(con, None if rescore.everything else rescore.to_score)
    scored = score_texts(feedback, feedback_model.model)
    scored["model_run_id"] = run_id
    fingerprints = rescore.to_score.set_index("feedback_id")[rescoring.FINGERPRINT]
    scored[rescoring.FINGERPRINT] = scored["feedback_id"].map(fingerprints)
    with warehouse.get_connection() as con:
        n = rescoring.write(con, "feedback_sentiment", "feedback_id", rescore, scored, SENTIMENT_TYPES)
        # Topic sizes, source, language and label mixes of the whole table, rescored rows or not.
        table = f"{common.SCHEMA}.feedback_sentiment"
        counts = dict(con.execute(f"select topic_id, count(*) from {table} group by 1").fetchall())
        terms = topic_table(feedback_model.model, pd.Series(counts, dtype="int64"), n)
        terms["model_run_id"] = run_id
        n_topics = common.write_table(con, "feedback_topics", terms, TOPIC_TYPES)
        mix = {column: dict(con.execute(f"select coalesce({column}, 'none'), count(*) from {table} group by 1 "
                                        "order by 2 desc, 1").fetchall())
               for column in ("feedback_source", "language", "sentiment_label")}
    yield dg.MaterializeResult(asset_key=common.ml_key("feedback_sentiment"), metadata={
        "dagster/row_count": n, "model_run_id": run_id,
        "by_source": dg.MetadataValue.json(mix["feedback_source"]),
        "by_language": dg.MetadataValue.json(mix["language"]),
        "by_label": dg.MetadataValue.json(mix["sentiment_label"]),
        **rescore.metadata("texts"),
    })
    yield dg.MaterializeResult(asset_key=common.ml_key("feedback_topics"),
                               metadata={"dagster/row_count": n_topics, "model_run_id": run_id})
