import numpy as np
import pandas as pd
import pytest

from ml.feedback_text import detect_language, fit_sentiment, fit_topics, nps_weak_labels, topic_tokens

# Phrase banks: (topic, language) -> positive / negative fragments.
BANK = {
    ("delivery", "en"): (["delivery was fast", "arrived early", "quick shipping"], ["delivery was slow", "package arrived late", "shipping took forever"]),
    ("delivery", "zh"): (["物流很快", "快递提前到了", "配送速度快"], ["物流太慢", "快递迟到了", "配送等了好久"]),
    ("quality", "en"): (["great quality", "excellent material", "works perfectly"], ["poor quality", "broke after a week", "cheap material"]),
    ("quality", "zh"): (["质量很好", "做工精细", "用着非常好"], ["质量太差", "用了一周就坏了", "做工粗糙"]),
    ("service", "en"): (["helpful support staff", "friendly customer service", "support solved my issue"], ["rude support staff", "customer service ignored me", "support never replied"]),
    ("service", "zh"): (["客服态度很好", "售后非常耐心", "客服解决了问题"], ["客服态度恶劣", "售后没人理", "客服一直不回复"]),
}
OPENERS = {"en": (["love it", "very happy", "highly recommend"], ["very disappointed", "not happy", "would not recommend"]),
           "zh": (["非常满意", "很喜欢", "强烈推荐"], ["非常失望", "很不满意", "不推荐"])}


def corpus(n: int = 600, seed: int = 5, openers: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    topics = sorted({t for t, _ in BANK})
    for _ in range(n):
        lang = rng.choice(["en", "zh"])
        topic = topics[rng.integers(len(topics))]
        positive = rng.random() < 0.55
        side = 0 if positive else 1
        filler = OPENERS[lang][side] if openers else BANK[(topic, lang)][side]
        parts = [rng.choice(BANK[(topic, lang)][side]), rng.choice(filler)]
        rng.shuffle(parts)
        sep = ", " if lang == "en" else "，"
        nps = int(rng.integers(9, 11)) if positive else int(rng.integers(0, 7))
        if rng.random() < 0.1:  # people are not always consistent
            nps = int(rng.integers(0, 11))
        rows.append({"comment": sep.join(parts), "nps": nps, "language": lang, "topic": topic, "positive": positive})
    # Passives carry no label and must simply be ignored in training.
    rows += [{"comment": "it was ok", "nps": 7, "language": "en", "topic": "none", "positive": None}] * 20
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def data():
    return corpus()


@pytest.fixture(scope="module")
def model(data):
    return fit_sentiment(data["comment"], data["nps"], seed=0)


def test_weak_labels():
    labels = nps_weak_labels([10, 9, 8, 7, 6, 0, None])
    assert labels[:2].tolist() == [1.0, 1.0] and labels[4:6].tolist() == [0.0, 0.0]
    assert np.isnan(labels[[2, 3, 6]]).all()


def test_held_out_accuracy_beats_majority_in_both_languages(data, model):
    m = model.metrics
    assert m["n_train"] + m["n_test"] == int((~data["nps"].between(7, 8)).sum())  # passives excluded
    assert m["accuracy"] > m["majority_accuracy"] + 0.2
    assert m["accuracy_en"] > 0.8 and m["accuracy_zh"] > 0.8
    assert m["auc"] > 0.85


def test_sensible_labels_on_unseen_sentences(model):
    # New wordings, Chinese without punctuation: only sub-word features generalise here.
    texts = [
        "这次快递很快质量也很好我非常满意",
        "客服态度太恶劣了让人很失望",
        "shipping was quick and the quality is great",
        "the support staff was rude and I am disappointed",
    ]
    out = model.predict(texts)
    assert list(out.columns) == ["sentiment_score", "sentiment_label", "language"]
    assert out["language"].tolist() == ["zh", "zh", "en", "en"]
    assert out["sentiment_label"].tolist() == ["positive", "negative", "positive", "negative"]


def test_deterministic(data, model):
    again = fit_sentiment(data["comment"], data["nps"], seed=0)
    assert again.metrics == model.metrics


def test_topics_separate_planted_themes():
    # Without the shared praise/complaint openers, which NMF rightly turns into
    # "recommend / disappointed" topics of their own, themes are the only structure.
    data = corpus(openers=False)
    tm = fit_topics(data["comment"], n_topics=6, seed=0)
    assert list(tm.terms.columns) == ["topic", "top_terms"]
    assigned = tm.assign(data["comment"])
    labelled = data.assign(topic_id=assigned["topic"].to_numpy())
    planted = labelled[labelled["topic"] != "none"]
    # Each planted (theme, language) lands mostly in one topic.
    purity = planted.groupby(["topic", "language"])["topic_id"].agg(lambda s: s.value_counts(normalize=True).iloc[0])
    assert (purity > 0.7).all(), purity
    terms = " ".join(tm.terms["top_terms"])
    assert "物流" in terms or "快递" in terms
    assert "delivery" in terms or "shipping" in terms


def test_tokenizer_and_language_detection():
    assert topic_tokens("The delivery 物流很快") == ["delivery", "物流", "流快"]
    assert detect_language("物流很快 ok") == "zh" and detect_language("fast, 好") == "en"
