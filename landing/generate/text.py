"""Composes bilingual free text with a known sentiment from the phrase banks."""

from __future__ import annotations

import numpy as np

from .vocab import FEEDBACK, FEEDBACK_OPENERS, SOCIAL_TAGS

SENTIMENTS = ("negative", "neutral", "positive")


def language(country_code: str, rng) -> str:
    """Chinese for most CN customers, some SG ones; English otherwise."""
    p_zh = {"CN": 0.88, "SG": 0.35}.get(country_code, 0.03)
    return "zh" if rng.random() < p_zh else "en"


def feedback_text(sentiment: str, lang: str, rng) -> str:
    bank = FEEDBACK[sentiment][lang]
    k = 1 + int(rng.random() < 0.55)
    picks = rng.choice(len(bank), k, replace=False)
    openers = FEEDBACK_OPENERS[sentiment][lang]
    opener = openers[int(rng.integers(len(openers)))]
    if lang == "zh":
        body = "，".join(bank[i] for i in picks)
        end = ("。", "！", "", "～")[int(rng.integers(4))]
    else:
        body = ", ".join(bank[i] for i in picks)
        end = (".", "!", "", "...")[int(rng.integers(4))]
        if not opener:
            body = body[:1].upper() + body[1:]
    return f"{opener}{body}{end}"


def social_text(sentiment: str, lang: str, rng) -> str:
    brand = ("@MetroMart", "MetroMart", "美卓商城", "@美卓商城")[int(rng.integers(2)) + (2 if lang == "zh" else 0)]
    tags = SOCIAL_TAGS[lang]
    tag = tags[int(rng.integers(len(tags)))]
    body = feedback_text(sentiment, lang, rng)
    sep = " " if lang == "en" else ""
    return f"{brand}{sep}{body}{(' ' + tag) if tag else ''}"


def sentiment_from_tone(tone: np.ndarray) -> np.ndarray:
    """Index into SENTIMENTS from a latent tone in -1 .. 1."""
    return np.where(tone > 0.3, 2, np.where(tone < -0.3, 0, 1))
