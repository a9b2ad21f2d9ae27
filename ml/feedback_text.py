"""Sentiment and topics for bilingual (Chinese + English) customer feedback.

No pretrained model is downloaded. Sentiment uses character n-grams (char_wb,
1-3), which need no tokenizer and so work for Chinese, where words are not
space-separated, as well as for English and misspellings. Labels come for free
from the NPS score answered with the comment (weak supervision): promoters
(>= 9) are positive, detractors (<= 6) negative, passives are left out of
training because their comments are mixed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[a-z][a-z']+")
# Only the commonest function words: topics are built from content words, and a
# bigger list would need maintenance per domain.
EN_STOPWORDS = frozenset(
    "a an and are as at be but by for from had has have i if in is it its me my no not of on or our so "
    "that the their them then there they this to too us very was we were what when which with you your "
    "it's i'm i've don't didn't".split()
)
ZH_STOP_CHARS = frozenset("的了是我很也都就在和有这那你他她们吗呢吧啊")

PROMOTER_MIN, DETRACTOR_MAX = 9, 6


def detect_language(text: str) -> str:
    """'zh' when at least 30% of the letters are CJK ideographs, else 'en'."""
    letters = [ch for ch in str(text) if ch.isalpha()]
    if not letters:
        return "en"
    return "zh" if sum(bool(_CJK.match(ch)) for ch in letters) / len(letters) >= 0.3 else "en"


def nps_weak_labels(nps_scores) -> np.ndarray:
    """1.0 promoter, 0.0 detractor, NaN passive or missing."""
    s = pd.to_numeric(pd.Series(nps_scores), errors="coerce").to_numpy(dtype=float)
    return np.where(s >= PROMOTER_MIN, 1.0, np.where(s <= DETRACTOR_MAX, 0.0, np.nan))


@dataclass
class SentimentModel:
    pipeline: Pipeline
    metrics: dict

    def predict(self, texts) -> pd.DataFrame:
        """sentiment_score (P(positive)), sentiment_label, language for each text."""
        texts = [str(t) for t in texts]
        p = self.pipeline.predict_proba(texts)[:, 1]
        # A band around 0.5 is "neutral": forcing a side there would put coin-flips
        # into a marketer's "unhappy customers" list.
        label = np.where(p >= 0.6, "positive", np.where(p <= 0.4, "negative", "neutral"))
        return pd.DataFrame({"sentiment_score": p, "sentiment_label": label, "language": [detect_language(t) for t in texts]})


def fit_sentiment(texts, nps_scores, seed: int = 0, test_size: float = 0.25) -> SentimentModel:
    """Train on NPS weak labels and evaluate on a held-out stratified split.

    metrics: accuracy, majority_accuracy (always predicting the commoner class),
    auc, n_train, n_test, and accuracy_<lang> per language in the test split.
    The returned pipeline is refitted on all labelled rows after evaluation.
    """
    texts = pd.Series([str(t) for t in texts])
    y = nps_weak_labels(nps_scores)
    keep = ~np.isnan(y)
    X_l, y_l = texts[keep].reset_index(drop=True), y[keep].astype(int)
    if len(np.unique(y_l)) < 2:
        raise ValueError("need both promoters (NPS >= 9) and detractors (NPS <= 6) to train sentiment")

    def pipeline() -> Pipeline:
        return Pipeline(
            [
                ("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=2, sublinear_tf=True, lowercase=True)),
                ("clf", LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000)),
            ]
        )

    X_tr, X_te, y_tr, y_te = train_test_split(X_l, y_l, test_size=test_size, random_state=seed, stratify=y_l)
    held_out = pipeline().fit(X_tr, y_tr)
    pred = held_out.predict(X_te)
    metrics = {
        "accuracy": float(accuracy_score(y_te, pred)),
        "majority_accuracy": float(max(np.mean(y_te), 1 - np.mean(y_te))),
        "auc": float(roc_auc_score(y_te, held_out.predict_proba(X_te)[:, 1])),
        "n_train": int(len(X_tr)),
        "n_test": int(len(X_te)),
    }
    langs = np.array([detect_language(t) for t in X_te])
    for lang in sorted(set(langs)):
        m = langs == lang
        metrics[f"accuracy_{lang}"] = float(accuracy_score(y_te[m], pred[m]))
    return SentimentModel(pipeline().fit(X_l, y_l), metrics)


def topic_tokens(text: str) -> list[str]:
    """English content words plus Chinese character bigrams.

    Topic terms must be readable, so unlike the sentiment features these are
    word-like units; overlapping bigrams are the usual tokenizer-free stand-in for
    Chinese words (most are two characters: 物流, 客服, 质量).
    """
    text = str(text).lower()
    tokens = [w for w in _LATIN_WORD.findall(text) if w not in EN_STOPWORDS]
    for run in _CJK_RUN.findall(text):
        run = "".join(ch for ch in run if ch not in ZH_STOP_CHARS)
        tokens += [run[i : i + 2] for i in range(len(run) - 1)]
    return tokens


@dataclass
class TopicModel:
    vectorizer: TfidfVectorizer
    nmf: NMF
    terms: pd.DataFrame  # topic, top_terms

    def assign(self, texts) -> pd.DataFrame:
        """topic (argmax weight, -1 when the text has no known term), topic_weight."""
        W = self.nmf.transform(self.vectorizer.transform([str(t) for t in texts]))
        top = W.argmax(axis=1)
        weight = W.max(axis=1)
        return pd.DataFrame({"topic": np.where(weight > 0, top, -1), "topic_weight": weight})


def fit_topics(texts, n_topics: int = 8, seed: int = 0, n_terms: int = 8) -> TopicModel:
    """NMF topics on TF-IDF of ``topic_tokens``.

    NMF rather than KMeans because a comment can mention delivery *and* price; its
    non-negative parts read as additive themes. The same theme in two languages
    usually becomes two topics (no shared vocabulary), so size n_topics for both.
    terms columns: topic, top_terms (comma-separated, strongest first).
    """
    vec = TfidfVectorizer(tokenizer=topic_tokens, lowercase=False, token_pattern=None, min_df=2, sublinear_tf=True)
    X = vec.fit_transform([str(t) for t in texts])
    n = min(n_topics, X.shape[1])
    nmf = NMF(n_components=n, init="nndsvda", random_state=seed, max_iter=500)
    nmf.fit(X)
    vocab = np.array(vec.get_feature_names_out())
    rows = [
        {"topic": k, "top_terms": ", ".join(vocab[np.argsort(-comp, kind="stable")[:n_terms]])}
        for k, comp in enumerate(nmf.components_)
    ]
    return TopicModel(vec, nmf, pd.DataFrame(rows))
