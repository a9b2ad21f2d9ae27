"""Support tickets, NPS survey responses and social mentions.

The planted causal chain: returns cause tickets, low-satisfaction tickets lower
later NPS scores (by LOW_SATISFACTION_NPS_EFFECT), and comment sentiment
follows the score, so text and score models can both be scored against truth.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa

from .customers import Customers
from .dirt import blank, duplicates
from .orders import Orders
from .params import DAY, DIRT_RATES, HOUR, NULL, YEAR_DAYS, Window
from .personas import PERSONAS
from .render import fixed_ids
from .text import SENTIMENTS, feedback_text, language, sentiment_from_tone, social_text
from .vocab import COUNTRY_CODES, TICKET_TEXT

TICKET_CATEGORIES = ("delivery", "returns", "product", "billing", "account")
TICKET_CHANNELS = ("email", "phone", "chat")
BASE_TICKET_CATEGORY_P = (0.38, 0.0, 0.27, 0.15, 0.20)
RETURN_TICKET_PROB = 0.45
SATISFACTION_MEAN = {"delivery": 3.1, "returns": 2.6, "product": 3.4, "billing": 3.3, "account": 3.8}
LOW_SATISFACTION = 2  # a closed ticket rated <= this is a bad support experience
LOW_SATISFACTION_NPS_EFFECT = -3.0
NON_CUSTOMER_POSTS_PER_CUSTOMER = 0.01
EMAIL_HASH_SHARE = 0.4


def _with_contact(text: str, email: str | None, number: int, lang: str) -> str:
    """Some customers write their e-mail into the ticket; chosen by a hash of the ticket number, so
    the planted rate holds and the random streams (and every other planted value) are unchanged."""
    if email is None or (number * 2654435761) % 100_000 >= DIRT_RATES["contact_in_text"]["support_tickets"] * 100_000:
        return text
    return f"{text} 请回复到 {email}" if lang == "zh" else f"{text} Please reply to {email}"


def build_tickets(cs: Customers, od: Orders, window: Window, first_number: int, rng):
    lo, hi = cs.exposure(window)
    years = (hi - lo) / (YEAR_DAYS * DAY)
    rate = np.array([p.ticket_rate_per_year for p in PERSONAS])[cs.persona]
    nb = rng.poisson(rate * years)
    b_cust = np.repeat(np.arange(len(cs)), nb)
    b_open = lo[b_cust] + (rng.random(len(b_cust)) * (hi - lo)[b_cust]).astype(np.int64)
    b_cat = rng.choice(len(TICKET_CATEGORIES), len(b_cust), p=BASE_TICKET_CATEGORY_P)
    ret = np.flatnonzero(od.returned_at != NULL)
    ret = ret[rng.random(len(ret)) < RETURN_TICKET_PROB]
    r_open = od.ordered_at[ret] + ((od.returned_at[ret] - od.ordered_at[ret]) * rng.uniform(0.3, 1.0, len(ret))).astype(np.int64)
    cust = np.concatenate([b_cust, od.cust[ret]])
    opened = np.concatenate([b_open, r_open])
    tcat = np.concatenate([b_cat, np.full(len(ret), 1)])
    srt = np.lexsort((cust, opened))
    cust, opened, tcat = cust[srt], opened[srt], tcat[srt]
    n = len(cust)

    closed = opened + 600 + (rng.exponential(30, n) * HOUR).astype(np.int64)
    still_open = closed >= window.end
    closed = np.where(still_open, NULL, closed)
    mean = np.array([SATISFACTION_MEAN[c] for c in TICKET_CATEGORIES])[tcat] + 0.6 * cs.sentiment[cust]
    true_sat = np.clip(np.round(rng.normal(mean, 1.1)), 1, 5).astype(np.int64)
    true_sat = np.where(still_open, NULL, true_sat)
    sat = blank(true_sat, DIRT_RATES["missing"]["support_tickets"]["satisfaction"], rng)

    number = first_number + np.arange(n, dtype=np.int64)
    desc = []
    for i in range(n):
        lang = language(COUNTRY_CODES[cs.country[cust[i]]], rng)
        bank = TICKET_TEXT[TICKET_CATEGORIES[tcat[i]]][lang]
        desc.append(_with_contact(bank[int(rng.integers(len(bank)))], cs.email[cust[i]], int(number[i]), lang))
    desc = blank(pa.array(desc, pa.string()), DIRT_RATES["missing"]["support_tickets"]["description"], rng)
    ids = fixed_ids("T", number, 8)
    channel = rng.choice(3, n, p=[0.45, 0.2, 0.35])

    # Version 1 when opened; version 2 on the day it is closed and rated, if that is a later day.
    two = (closed != NULL) & (closed // DAY > opened // DAY)
    one_closed = (closed != NULL) & ~two
    v1_closed = np.where(one_closed, closed, NULL)
    v1_sat = np.where(one_closed, sat, NULL)
    v1_upd = np.where(one_closed, closed, opened)
    t2 = np.flatnonzero(two)
    idx = np.concatenate([np.arange(n), t2])
    pidx = pa.array(idx)
    frame = {
        "ticket_id": ids.take(pidx),
        "customer_id": cs.ids.take(pa.array(cust[idx])),
        "opened_at": opened[idx],
        "closed_at": np.concatenate([v1_closed, closed[t2]]),
        "channel": pa.array(TICKET_CHANNELS, pa.string()).take(pa.array(channel[idx])),
        "category": pa.array(TICKET_CATEGORIES, pa.string()).take(pa.array(tcat[idx])),
        "satisfaction": np.concatenate([v1_sat, sat[t2]]),
        "description": desc.take(pidx),
        "updated_at": np.concatenate([v1_upd, closed[t2]]),
    }
    delivery = window.clamp_day(frame["updated_at"] // DAY)
    dup_rows, dup_day = duplicates(len(delivery), DIRT_RATES["duplicate"]["support_tickets"], rng, delivery, window.last_day)
    pd_ = pa.array(np.concatenate([np.arange(len(delivery)), dup_rows]))
    frame = {k: (v.take(pd_) if isinstance(v, pa.Array) else np.concatenate([v, v[dup_rows]])) for k, v in frame.items()}
    delivery = np.concatenate([delivery, dup_day])
    low = (true_sat != NULL) & (true_sat <= LOW_SATISFACTION)
    first_low = np.full(len(cs), NULL, dtype=np.int64)
    li = np.flatnonzero(low)
    first_low_v = np.full(len(cs), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_low_v, cust[li], closed[li])
    first_low = np.where(first_low_v == np.iinfo(np.int64).max, NULL, first_low_v)
    info = {"tickets": n, "duplicates": len(dup_rows), "versions": len(t2), "open_at_end": int(still_open.sum()),
            "first_low_satisfaction_at": first_low, "tickets_per_customer": np.bincount(cust, minlength=len(cs)),
            "last_opened": _last(cust, opened, len(cs))}
    return frame, delivery, frame["opened_at"], info


def build_surveys(cs: Customers, window: Window, first_low: np.ndarray, first_number: int, rng):
    lo, hi = cs.exposure(window)
    years = (hi - lo) / (YEAR_DAYS * DAY)
    p = np.array([x.survey_prob for x in PERSONAS])[cs.persona]
    k = rng.poisson(p * years)
    cust = np.repeat(np.arange(len(cs)), k)
    at = lo[cust] + (rng.random(len(cust)) * (hi - lo)[cust]).astype(np.int64)
    srt = np.lexsort((cust, at))
    cust, at = cust[srt], at[srt]
    n = len(cust)
    after_low = (first_low[cust] != NULL) & (at > first_low[cust])
    mean = np.array([x.nps_mean for x in PERSONAS])[cs.persona[cust]] + 1.2 * cs.sentiment[cust]
    mean = mean + np.where(after_low, LOW_SATISFACTION_NPS_EFFECT, 0.0)
    score = np.clip(np.round(rng.normal(mean, 1.5)), 0, 10).astype(np.int64)
    sentiment = np.where(score >= 9, 2, np.where(score >= 7, 1, 0))
    has_comment = rng.random(n) >= DIRT_RATES["missing"]["survey_responses"]["comment"]
    comments, langs = [], []
    for i in range(n):
        lang = language(COUNTRY_CODES[cs.country[cust[i]]], rng)
        langs.append(lang)
        comments.append(feedback_text(SENTIMENTS[sentiment[i]], lang, rng) if has_comment[i] else None)
    ids = fixed_ids("R", first_number + np.arange(n, dtype=np.int64), 8)
    frame = {
        "response_id": ids,
        "customer_id": cs.ids.take(pa.array(cust)),
        "responded_at": at,
        "nps_score": score,
        "comment": pa.array(comments, pa.string()),
    }
    truth = {"id": ids, "customer_id": frame["customer_id"], "sentiment": pa.array(SENTIMENTS, pa.string()).take(pa.array(sentiment)),
             "language": pa.array(langs, pa.string()), "after_low_satisfaction_ticket": pa.array(after_low)}
    info = {"responses": n, "after_low": int(after_low.sum()), "last_responded": _last(cust, at, len(cs)),
            "nps_sum": float(score.sum()), "nps_after_low_sum": float(score[after_low].sum())}
    return frame, window.clamp_day(at // DAY), at, truth, info


def _handle(email: str | None, gidx: int) -> str:
    base = (email.split("@")[0].split(".")[0].rstrip("0123456789_") if email else "") or "user"
    return f"{base[:12]}_{(gidx * 7919) % 10000:04d}"


def build_social(cs: Customers, window: Window, first_number: int, rng):
    lo, hi = cs.exposure(window)
    years = (hi - lo) / (YEAR_DAYS * DAY)
    p = np.array([x.social_prob for x in PERSONAS])[cs.persona]
    k = rng.poisson(p * years * 3)
    cust = np.repeat(np.arange(len(cs)), k)
    at = lo[cust] + (rng.random(len(cust)) * (hi - lo)[cust]).astype(np.int64)
    n_anon = rng.poisson(NON_CUSTOMER_POSTS_PER_CUSTOMER * len(cs))
    a_at = window.start + (rng.random(n_anon) * (window.end - window.start)).astype(np.int64)
    rows = []
    for i, c in enumerate(cust):
        cc = COUNTRY_CODES[cs.country[c]]
        lang = language(cc, rng)
        tone = float(np.clip(cs.sentiment[c] + rng.normal(0, 0.5), -1, 1))
        sent = SENTIMENTS[int(sentiment_from_tone(np.array([tone]))[0])]
        plats = ("weibo", "wechat", "xiaohongshu") if cc == "CN" else ("twitter", "instagram")
        email = cs.email[c]
        h = hashlib.sha256(email.lower().encode()).hexdigest() if email and rng.random() < EMAIL_HASH_SHARE else None
        rows.append((plats[int(rng.integers(len(plats)))], _handle(email, int(cs.gidx[c])), int(at[i]),
                     social_text(sent, lang, rng), h, cs.ids[int(c)].as_py(), sent, lang))
    for i in range(n_anon):
        lang = "zh" if rng.random() < 0.7 else "en"
        sent = SENTIMENTS[int(rng.choice(3, p=[0.3, 0.3, 0.4]))]
        plat = ("weibo", "xiaohongshu", "wechat")[int(rng.integers(3))] if lang == "zh" else ("twitter", "instagram")[int(rng.integers(2))]
        rows.append((plat, f"{('shopper', 'fan', 'daily', 'kiki', 'momo')[int(rng.integers(5))]}_{int(rng.integers(100000)):05d}",
                     int(a_at[i]), social_text(sent, lang, rng), None, None, sent, lang))
    rows.sort(key=lambda r: (r[2], r[1]))
    n = len(rows)
    ids = fixed_ids("S", first_number + np.arange(n, dtype=np.int64), 10)
    col = lambda j: [r[j] for r in rows]  # noqa: E731
    posted = np.array(col(2), dtype=np.int64)
    frame = {
        "post_id": ids,
        "platform": pa.array(col(0), pa.string()),
        "handle": pa.array(col(1), pa.string()),
        "posted_at": posted,
        "text": pa.array(col(3), pa.string()),
        "email_sha256": pa.array(col(4), pa.string()),
    }
    truth = {"id": ids, "customer_id": pa.array(col(5), pa.string()), "sentiment": pa.array(col(6), pa.string()),
             "language": pa.array(col(7), pa.string())}
    return frame, window.clamp_day(posted // DAY), posted, truth, {"posts": n, "by_customers": len(cust)}


def _last(cust: np.ndarray, t: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(out, cust, t)
    return out
